"""The one stylesheet of the HTML pages, served under a name that changes with its content.

Pages link ``/static/regie-<hash>.css``; browsers and proxies may keep it a year (``immutable``):
a phone downloads it once, and every page after that is a single request of markup.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

STYLESHEET = (Path(__file__).parent / "static" / "regie.css").read_bytes()
STYLESHEET_NAME = f"regie-{hashlib.sha256(STYLESHEET).hexdigest()[:12]}.css"
STYLESHEET_URL = f"/static/{STYLESHEET_NAME}"


async def stylesheet(request: Request) -> Response:
    if request.path_params["name"] != STYLESHEET_NAME:
        return PlainTextResponse(
            "Not found.", status_code=404, headers={"Cache-Control": "no-store"}
        )
    return Response(
        STYLESHEET,
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


routes = [Route("/static/{name}", stylesheet, methods=["GET"])]
