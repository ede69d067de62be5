"""Security headers on every response, and no caching of anything that may show tenant data."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# GraphiQL (development only) loads its scripts from a CDN; every other page is self-contained.
STRICT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
CACHEABLE_PREFIXES = ("/static/", "/.well-known/jwks.json")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, https: bool, graphiql: bool) -> None:
        self.app = app
        self.https = https
        self.graphiql = graphiql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                if not (self.graphiql and path == "/graphql"):
                    headers.setdefault("Content-Security-Policy", STRICT_CSP)
                if self.https:
                    headers.setdefault(
                        "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
                    )
                if not path.startswith(CACHEABLE_PREFIXES):
                    headers.setdefault("Cache-Control", "no-store")
                    headers.setdefault("Pragma", "no-cache")
            await send(message)

        await self.app(scope, receive, with_headers)
