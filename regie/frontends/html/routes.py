"""HTML routes. For now the home page, which points to what the server offers."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


async def home(request: Request) -> HTMLResponse:
    page = templates.get_template("home.html").render(
        development=request.app.state.settings.is_development
    )
    return HTMLResponse(page)


routes = [Route("/", home, methods=["GET"])]
