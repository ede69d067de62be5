"""Opaque cursors. Clients must not parse them; we keep them short for WML URLs."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from regie.services.tenants import InvalidArgument, PaymentCursor

T = TypeVar("T")


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, argument: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument(
            argument, f"'{argument}' is not a cursor this API returned."
        ) from None


def offset_cursor(offset: int) -> str:
    return _encode(f"o:{offset}")


def offset_from_cursor(cursor: str | None, argument: str = "after") -> int:
    if cursor is None:
        return 0
    kind, _, value = _decode(cursor, argument).partition(":")
    if kind != "o" or not value.isdigit():
        raise InvalidArgument(argument, f"'{argument}' is not a cursor this API returned.")
    return int(value) + 1


def payment_cursor(paid_on: date, payment_id: int) -> str:
    return _encode(f"p:{paid_on.isoformat()}:{payment_id}")


def payment_from_cursor(cursor: str | None, argument: str = "after") -> PaymentCursor | None:
    if cursor is None:
        return None
    parts = _decode(cursor, argument).split(":")
    try:
        if len(parts) != 3 or parts[0] != "p":
            raise ValueError
        return PaymentCursor(date.fromisoformat(parts[1]), int(parts[2]))
    except ValueError:
        raise InvalidArgument(
            argument, f"'{argument}' is not a cursor this API returned."
        ) from None


@dataclass(frozen=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@dataclass(frozen=True)
class Edge(Generic[T]):
    cursor: str
    node: T


@dataclass(frozen=True)
class Page(Generic[T]):
    """What a connection field returns; the schema's ``…Connection`` types read it."""

    edges: list[Edge[T]]
    page_info: PageInfo


def page(edges: list[Edge[T]], has_next_page: bool, has_previous_page: bool) -> Page[T]:
    return Page(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next_page,
            has_previous_page=has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
