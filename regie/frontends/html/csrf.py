"""CSRF tokens of the signed-in pages' forms, bound to the session (OWASP's HMAC token pattern).

The token is an HMAC of the session cookie under ``REGIE_SECRET_KEY``: nothing to store, it changes
with every session, and a page of another site can neither read nor compute it. The session cookie
is also ``SameSite=Strict``; the token is the second, independent defence. (The sign-in form has no
session yet: it uses a double-submit cookie, see :mod:`regie.frontends.html.sign_in`.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.datastructures import FormData
from starlette.requests import Request

from regie.auth.principal import SESSION_COOKIE

FIELD = "csrf"


def token(request: Request) -> str:
    """The token the request's forms carry; empty without a session cookie."""
    session = request.cookies.get(SESSION_COOKIE, "")
    if not session:
        return ""
    key = request.app.state.settings.secret_key.encode()
    mac = hmac.new(key, b"html-csrf\0" + session.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def valid(request: Request, form: FormData) -> bool:
    """Whether the submitted form carries the request's token.

    A request authenticated by a bearer token carries no ambient credential a foreign page could
    make the browser send, so it needs no CSRF token.
    """
    if getattr(request.state, "credential", None) == "bearer":
        return True
    expected = token(request)
    submitted = form.get(FIELD)
    return (
        bool(expected) and isinstance(submitted, str) and hmac.compare_digest(expected, submitted)
    )
