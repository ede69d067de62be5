"""Resolving who makes each request, once, before any route runs.

In order: an ``Authorization: Bearer`` OAuth2 access token; the HTML session cookie; on WML
paths, the session token carried in the URL (WAP gateways often drop cookies). The result is
``request.state.viewer`` (a :class:`~regie.services.access.Viewer` or ``None``) and
``request.state.credential`` (``"bearer"``, ``"cookie"``, ``"wml"`` or ``None``), which the
GraphQL view uses to refuse cookie credentials on requests a cross-site form could forge.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from regie.auth.tokens import viewer_from_access_token
from regie.services import sessions
from regie.services.access import Viewer
from regie.settings import Settings

SESSION_COOKIE = "regie_session"
WML_SESSION_PARAMETER = "s"
WML_PREFIX = "/wml"


async def _from_bearer(token: str, settings: Settings | None) -> Viewer | None:
    return await viewer_from_access_token(token, settings=settings)


async def resolve_viewer(scope: Scope) -> tuple[Viewer | None, str | None]:
    headers = Headers(scope=scope)
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        # A presented but invalid token is not silently downgraded to the cookie.
        app = scope.get("app")
        settings = getattr(app.state, "settings", None) if app is not None else None
        return await _from_bearer(authorization[7:].strip(), settings), "bearer"
    path: str = scope.get("path", "")
    if path == WML_PREFIX or path.startswith(WML_PREFIX + "/"):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = (query.get(WML_SESSION_PARAMETER) or [""])[0]
        if token:
            return await sessions.viewer_for_session(token, "wml"), "wml"
        return None, None
    cookie = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
    if cookie:
        return await sessions.viewer_for_session(cookie, "html"), "cookie"
    return None, None


class PrincipalMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            viewer, credential = await resolve_viewer(scope)
            state = scope.setdefault("state", {})
            state["viewer"] = viewer
            state["credential"] = credential if viewer is not None else None
        await self.app(scope, receive, send)
