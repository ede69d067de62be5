"""How pages get their data: GraphQL documents (``.graphql`` files) run in process on the app's schema.

One source of truth for every number a user sees: the frontends never touch the ORM or the
services, they ask the same schema GraphQL clients ask, as the signed-in viewer.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from starlette.requests import Request

from regie.context import Context


class GraphQLFailed(Exception):
    """The document returned errors; ``codes`` holds their ``extensions.code`` values."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e.get("message")) for e in errors))
        self.errors = errors
        self.codes = [str((e.get("extensions") or {}).get("code", "")) for e in errors]


@cache
def document(path: Path) -> str:
    return path.read_text(encoding="utf-8")


async def run(
    request: Request, path: Path, variables: dict[str, Any] | None = None, *, surface: str
) -> dict[str, Any]:
    """Execute the document at ``path`` as the request's viewer; raise :class:`GraphQLFailed` on errors."""
    context = Context(
        viewer=getattr(request.state, "viewer", None),
        surface=surface,
        client_address=request.client.host if request.client else None,
    )
    result = await request.app.state.schema.execute(
        document(path), variable_values=variables or {}, context_value=context
    )
    if result.errors:
        raise GraphQLFailed([error.formatted for error in result.errors])
    data: dict[str, Any] = result.data or {}
    return data
