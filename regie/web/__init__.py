"""HTTP hardening shared by every route: body size caps, security and cache headers."""
