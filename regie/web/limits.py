"""Request bodies are capped before anything reads them: by Content-Length, and while streaming."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
GRAPHQL_MAX_BODY_BYTES = 16 * 1024 * 1024


class BodyTooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    """413 for bodies over the cap of their path. Paths in ``own_caps`` enforce their own."""

    def __init__(
        self,
        app: ASGIApp,
        caps: dict[str, int] | None = None,
        default: int = DEFAULT_MAX_BODY_BYTES,
        own_caps: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.caps = caps or {"/graphql": GRAPHQL_MAX_BODY_BYTES}
        self.default = default
        self.own_caps = own_caps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or (self.own_caps and path.startswith(self.own_caps)):
            await self.app(scope, receive, send)
            return
        cap = self.caps.get(path, self.default)
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            await PlainTextResponse("Request body too large.", status_code=413)(
                scope, receive, send
            )
            return
        received = 0
        response_started = False

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, capped_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await PlainTextResponse("Request body too large.", status_code=413)(
                    scope, receive, send
                )
