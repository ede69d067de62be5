"""Set-based writes the ORM does not offer: many-row UPDATEs and reserving primary keys in bulk.

Both run on the connection of the caller's transaction and convert values the way Tortoise does,
so they behave the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model


def _dialect(connection: BaseDBAsyncClient) -> str:
    return str(connection.capabilities.dialect)


def _placeholder(connection: BaseDBAsyncClient, position: int) -> str:
    return f"${position}" if _dialect(connection) == "postgres" else "?"


async def update_many(
    connection: BaseDBAsyncClient,
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """``UPDATE table SET columns… WHERE id = …`` once per row (executemany).

    Each row holds the values of ``columns`` followed by the primary key.
    """
    if not rows:
        return
    meta = model._meta
    fields = [meta.fields_map[name] for name in columns]
    assignments = ", ".join(
        f'"{field.source_field or name}" = {_placeholder(connection, i)}'
        for i, (name, field) in enumerate(zip(columns, fields, strict=True), start=1)
    )
    pk = meta.pk.source_field or meta.pk_attr
    query = (
        f'UPDATE "{meta.db_table}" SET {assignments} '  # noqa: S608 - names come from the model
        f'WHERE "{pk}" = {_placeholder(connection, len(columns) + 1)}'
    )
    values = [
        [field.to_db_value(value, model) for field, value in zip(fields, row[:-1], strict=True)]
        + [row[-1]]
        for row in rows
    ]
    await connection.execute_many(query, values)


async def reserve_ids(connection: BaseDBAsyncClient, model: type[Model], count: int) -> list[int]:
    """``count`` unused primary keys for rows the caller inserts in the same transaction.

    PostgreSQL takes them from the id sequence (safe under concurrency). SQLite continues from the
    largest id: writers are serialised, and a clash with another process fails the caller's insert
    (a UNIQUE violation), which the caller retries.
    """
    if count <= 0:
        return []
    meta = model._meta
    table, pk = meta.db_table, meta.pk.source_field or meta.pk_attr
    if _dialect(connection) == "postgres":
        _, rows = await connection.execute_query(
            f"SELECT nextval(pg_get_serial_sequence('\"{table}\"', '{pk}')) AS id "  # noqa: S608
            "FROM generate_series(1, $1)",
            [count],
        )
        return [int(row["id"]) for row in rows]
    _, rows = await connection.execute_query(
        f'SELECT COALESCE(MAX("{pk}"), 0) AS top FROM "{table}"'  # noqa: S608
    )
    top = int(rows[0]["top"])
    return list(range(top + 1, top + 1 + count))


async def insert_many(
    connection: BaseDBAsyncClient,
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """``INSERT INTO table (columns…) VALUES …`` for many rows at once, without building model
    instances (each costs more than the row's insert); values are converted as Tortoise does."""
    if not rows:
        return
    meta = model._meta
    fields = [meta.fields_map[name] for name in columns]
    names = ", ".join(
        f'"{field.source_field or name}"' for name, field in zip(columns, fields, strict=True)
    )
    marks = ", ".join(_placeholder(connection, i) for i in range(1, len(columns) + 1))
    query = f'INSERT INTO "{meta.db_table}" ({names}) VALUES ({marks})'  # noqa: S608
    values = [
        [field.to_db_value(value, model) for field, value in zip(fields, row, strict=True)]
        for row in rows
    ]
    await connection.execute_many(query, values)
