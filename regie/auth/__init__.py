"""Authentication at the HTTP edge: who is calling, from a session cookie, a WML session or a bearer token."""
