"""Relay-style page information shared by every connection."""

from __future__ import annotations

import strawberry


@strawberry.type(description="Where a page sits in its connection (Relay cursor pagination).")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Whether a page follows; pass endCursor as 'after'."
    )
    has_previous_page: bool = strawberry.field(description="Whether a page precedes this one.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge.")
