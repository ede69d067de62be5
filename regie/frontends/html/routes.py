"""HTML routes: the home page, signing in, the collector's pages and the stylesheet."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from regie.frontends.html import collector, office, people, sign_in, static
from regie.frontends.html.templates import page


async def home(request: Request) -> Response:
    """Signed in: the search form. Anonymous: what the server offers and the way to sign in."""
    if getattr(request.state, "viewer", None) is not None:
        return await collector.search_page(request)
    return page(request, "home.html", development=request.app.state.settings.is_development)


routes = [
    Route("/", home, methods=["GET"]),
    *sign_in.routes,
    *collector.routes,
    *office.routes,
    *people.routes,
    *static.routes,
]
