"""The application factory: routes, middleware and the database lifespan."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from tortoise.contrib.starlette import RegisterTortoise

from regie.auth import oauth_routes
from regie.auth.principal import PrincipalMiddleware
from regie.db.config import tortoise_config
from regie.frontends.html import routes as html_routes
from regie.frontends.wml import routes as wml_routes
from regie.graphql_view import GraphQLView
from regie.schema.schema import build_schema
from regie.services import audit, database, events, payers
from regie.settings import Settings, ensure_sqlite_directory
from regie.treasury import push
from regie.web.access_log import AccessLogMiddleware
from regie.web.headers import SecurityHeadersMiddleware
from regie.web.limits import GRAPHQL_MAX_BODY_BYTES, BodySizeLimitMiddleware

# Routes that read their body under a cap of their own (the signed push verifies its size first).
ROUTES_WITH_OWN_BODY_CAP = ("/treasury/confirmations",)
# Larger caps than the 1 MiB default: GraphQL, and the office's upload of treasury files (as much as
# one GraphQL request may carry).
BODY_CAPS = {"/graphql": GRAPHQL_MAX_BODY_BYTES, "/office/imports": GRAPHQL_MAX_BODY_BYTES}


def create_app(settings: Settings) -> Starlette:
    schema = build_schema(production=not settings.is_development)
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
        Mount("/wml", routes=wml_routes.routes),
        *oauth_routes.routes,
        Route("/treasury/confirmations", push.confirmations, methods=["POST"]),
    ]
    # Live updates (in-process, or Redis across processes) and the payer-IBAN fingerprint key.
    broker = events.broker_from_url(settings.broker_url)
    events.use_broker(broker)
    if settings.iban_key:
        payers.use_key(settings.iban_key)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ensure_sqlite_directory(settings.database_url)
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            background = await database.open_background_connection(settings.database_url)
            writer = audit.AuditWriter(connection=background)
            audit.use_writer(writer)
            writing = asyncio.create_task(writer.run())
            # What exists once the app has started (schema, ORM metadata, modules) lives as long
            # as the process: kept out of the collector's full passes, which otherwise stall a
            # request for 60 to 80 ms every few hundred lookups.
            gc.collect()
            gc.freeze()
            purging = asyncio.create_task(audit.purge_every_day(settings.audit_retention_days))
            try:
                yield
            finally:
                purging.cancel()
                await writer.stop()
                await writing
                audit.use_writer(None)
                if background is not None:
                    await background.close()
        await broker.close()

    middleware = [
        Middleware(AccessLogMiddleware),
        Middleware(BodySizeLimitMiddleware, caps=BODY_CAPS, own_caps=ROUTES_WITH_OWN_BODY_CAP),
        Middleware(
            SecurityHeadersMiddleware,
            https=not settings.is_development,
            graphiql=settings.is_development,
        ),
        Middleware(PrincipalMiddleware),
    ]
    app = Starlette(debug=False, routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.settings = settings
    app.state.schema = schema
    return app
