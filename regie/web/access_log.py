"""The access log, without query strings: a WML session token rides in the URL and must never be logged."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("regie.access")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            client = scope.get("client")
            logger.info(
                '%s "%s %s" %d %.1f ms',
                client[0] if client else "-",
                scope.get("method", "-"),
                scope.get("path", "-"),  # never the query string
                status,
                (time.perf_counter() - started) * 1000,
            )
