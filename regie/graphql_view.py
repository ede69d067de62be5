"""Strawberry's Starlette view, adapted: our Context, and GraphQL-over-HTTP media types and statuses."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse

from regie.context import Context
from regie.services.access import Viewer

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


class GraphQLView(GraphQL[Context, None]):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        viewer: Viewer | None = getattr(request.state, "viewer", None)
        credential = getattr(request.state, "credential", None)
        if credential == "cookie" and isinstance(request, Request) and not _json_post(request):
            # A cross-site form can send the cookie but not a JSON body: refuse it the session.
            viewer = None
        client = request.client.host if request.client else None
        return Context(viewer=viewer, surface="graphql", client_address=client)

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        retry_after = _retry_after(response_data)
        if retry_after is not None:
            response.status_code = 429
            response.headers["Retry-After"] = str(retry_after)
        request: Request | None = getattr(sub_response, "regie_request", None)
        if request is not None and _accepts_graphql_response_json(request):
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
            if isinstance(response_data, dict) and _is_request_error(response_data):
                # GraphQL over HTTP: a document that failed to parse or validate never executed:
                # no "data" entry, and a 400.
                body = {"errors": response_data["errors"]}
                encoded = self.encode_json(body)
                response.body = encoded.encode() if isinstance(encoded, str) else encoded
                response.headers["content-length"] = str(len(response.body))
                response.status_code = 400
        return response

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.regie_request = request  # type: ignore[attr-defined]
        return sub_response


def _json_post(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return request.method == "POST" and content_type in (
        "application/json",
        "application/graphql+json",
    )


def _retry_after(response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse]) -> int | None:
    if not isinstance(response_data, dict):
        return None
    errors: list[dict[str, Any]] = list(response_data.get("errors") or [])  # type: ignore[arg-type]
    for error in errors:
        extensions: dict[str, Any] = error.get("extensions") or {}
        if extensions.get("code") == "RATE_LIMITED":
            return int(extensions.get("retryAfterSeconds", 60))
    return None


def _is_request_error(response_data: GraphQLHTTPResponse) -> bool:
    errors: list[dict[str, Any]] = list(response_data.get("errors") or [])  # type: ignore[arg-type]
    # Execution errors carry the path of the field that failed; parse and validation errors do not.
    return (
        response_data.get("data") is None
        and bool(errors)
        and not any(e.get("path") for e in errors)
    )


def _accepts_graphql_response_json(request: Request) -> bool:
    accept: Any = request.headers.get("accept", "")
    return GRAPHQL_RESPONSE_JSON in accept
