"""The application factory: routes, middleware and the database lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from tortoise.contrib.starlette import RegisterTortoise

from regie.db.config import tortoise_config
from regie.frontends.html import routes as html_routes
from regie.graphql_view import GraphQLView
from regie.schema.schema import schema
from regie.settings import Settings, ensure_sqlite_directory


def create_app(settings: Settings) -> Starlette:
    graphql = GraphQLView(
        schema,
        graphql_ide="graphiql" if settings.is_development else None,
        allow_queries_via_get=settings.is_development,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        *html_routes.routes,
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ensure_sqlite_directory(settings.database_url)
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            yield

    app = Starlette(debug=False, routes=routes, lifespan=lifespan)
    app.state.settings = settings
    return app
