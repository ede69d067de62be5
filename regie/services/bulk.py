"""Set-based reads and writes the ORM does not offer cheaply: many-row INSERTs and UPDATEs, reserving
primary keys in bulk, and plain-row queries.

They run on the connection they are given (the caller's transaction, or the default connection)
and convert values the way Tortoise does, so they behave the same on SQLite and PostgreSQL. They
exist because building a model instance, or a queryset, per row costs far more than the row's
own write: an import of 100,000 entries spent most of its time there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime
from itertools import chain
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.fields.base import Field
from tortoise.models import Model
from tortoise.validators import MaxLengthValidator

Converter = Callable[[Any], Any]


def dialect(connection: BaseDBAsyncClient) -> str:
    return str(connection.capabilities.dialect)


def placeholder(connection: BaseDBAsyncClient, position: int) -> str:
    """The parameter marker at 1-based ``position``: ``?`` on SQLite, ``$n`` on PostgreSQL."""
    return f"${position}" if dialect(connection) == "postgres" else "?"


def in_list(
    connection: BaseDBAsyncClient, values: Collection[Any], position: int
) -> tuple[str, list[Any]]:
    """``IN (…)`` for ``values`` (not empty) whose first parameter is at ``position``, and its
    parameters. PostgreSQL gets one array parameter (``= ANY($n)``): one plan whatever the count.

    SQLite gets a list of markers whose length is a power of two, the last value repeated to fill
    it (a value twice in an IN list changes nothing): the statement's text is then one of a few,
    which the connection keeps prepared, rather than one per count, prepared for each query (a
    millisecond for a few thousand values, as long as running it)."""
    if dialect(connection) == "postgres":
        return f"= ANY(${position})", [list(values)]
    params = list(values)
    if params:
        params += [params[-1]] * (_power_of_two_from(len(params)) - len(params))
    return f"IN ({_markers(len(params))})", params


def _power_of_two_from(count: int) -> int:
    """The smallest power of two at least ``count``."""
    return 1 << max(count - 1, 0).bit_length()


_MARKERS: dict[int, str] = {}


def _markers(count: int) -> str:
    text = _MARKERS.get(count)
    if text is None:
        text = _MARKERS[count] = ", ".join("?" * count)
    return text


async def fetch(
    connection: BaseDBAsyncClient, sql: str, params: Sequence[Any] = ()
) -> list[Sequence[Any]]:
    """The rows of a parameterised query as the driver returns them (indexable by position), with
    no model or queryset built: values are the database's (SQLite: dates as ISO text)."""
    _, rows = await connection.execute_query(sql, list(params))
    return rows  # type: ignore[return-value] # sqlite3.Row or asyncpg.Record, not dicts


_Result = TypeVar("_Result")


async def in_sqlite_thread(
    connection: BaseDBAsyncClient, work: Callable[[sqlite3.Connection], _Result]
) -> _Result:
    """Run ``work`` on the sqlite3 connection underneath ``connection`` (an SQLite client, or a
    transaction on one), in the thread where that connection runs every query, and return what
    it returned. Errors come out as Tortoise's, as from a query.

    aiosqlite hands each statement to that thread and its result back to the event loop: a write
    of many statements goes to and fro as often, and each time waits for the loop, which is busy
    with CPU work between its awaits (an import matching its next records). Several statements
    in one call run back to back, with the interpreter lock taken only to bind their values.
    """
    # aiosqlite has no public way to run a callable in its thread; _execute is how its own
    # methods do (its versions are bounded in pyproject.toml; every file import's tests on
    # SQLite run this path).
    driver = getattr(connection, "_connection", None)
    run = getattr(driver, "_execute", None)
    if dialect(connection) != "sqlite" or run is None:
        raise TypeError(f"{type(connection).__name__} is not an open SQLite client")
    try:
        result: _Result = await run(work, driver._conn)  # type: ignore[union-attr]
        return result
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(exc) from exc
    except sqlite3.OperationalError as exc:
        raise OperationalError(exc) from exc


def _converter(field: Field[Any], model: type[Model]) -> Converter:
    """``field.to_db_value`` for one column, skipping the call for values it would return as they
    are (the common case, and most of the cost of a many-row write)."""
    to_db = field.to_db_value
    kind: Any = getattr(field, "field_type", None)
    if type(field).to_db_value is Field.to_db_value:
        limits = [v.max_length for v in field.validators if isinstance(v, MaxLengthValidator)]
        if len(limits) == len(field.validators) and kind in (int, bool, str):
            limit = min(limits, default=None)

            def plain(value: Any) -> Any:
                # Field.to_db_value returns a value of the field's type unchanged once validated.
                if value is None or (
                    type(value) is kind and (limit is None or len(value) <= limit)
                ):
                    return value
                return to_db(value, model)

            return plain
    if kind is date and not field.validators:

        def day(value: Any) -> Any:
            # DateField.to_db_value returns a date unchanged.
            return value if value is None or type(value) is date else to_db(value, model)

        return day
    if kind is datetime and not getattr(field, "auto_now", False) and not field.validators:

        def moment(value: Any) -> Any:
            # DatetimeField.to_db_value returns an aware datetime unchanged.
            if value is None or (type(value) is datetime and value.tzinfo is not None):
                return value
            return to_db(value, model)

        return moment
    known: dict[Any, Any] = {}

    def memo(value: Any) -> Any:
        # Enum columns repeat a few values: convert each once per write.
        try:
            return known[value]
        except KeyError:
            converted = known[value] = to_db(value, model)
            return converted
        except TypeError:  # unhashable (JSON)
            return to_db(value, model)

    return memo


def _columns(model: type[Model], columns: Sequence[str]) -> tuple[list[str], list[Converter]]:
    meta = model._meta
    fields = [meta.fields_map[name] for name in columns]
    names = [f'"{field.source_field or name}"' for name, field in zip(columns, fields, strict=True)]
    return names, [_converter(field, model) for field in fields]


SQLITE_ROWS_PER_STATEMENT = 512
"""Rows an SQLite many-row statement holds at most (its parameters stay far below SQLite's
32,766). Larger ones made an import no faster (2,000 rows) and cost its process 40 MiB more: the
connection keeps its statements prepared."""


def sqlite_statement_sizes(rows: int) -> list[int]:
    """The rows of each many-row statement that writes ``rows`` rows: full ones, then the rest
    as powers of two (437: 256, 128, 32, 16, 4, 1). A statement of each size is prepared once
    and kept by the connection; one of a size of its own for each write's last rows was prepared
    again each time, which took as long as running it."""
    full, rest = divmod(rows, SQLITE_ROWS_PER_STATEMENT)
    sizes = [SQLITE_ROWS_PER_STATEMENT] * full
    size = 1 << SQLITE_ROWS_PER_STATEMENT.bit_length()
    while rest:
        size >>= 1
        if size <= rest:
            sizes.append(size)
            rest -= size
    return sizes


class _Statement:
    """A many-row statement whose values can be converted ahead of the transaction that runs it.

    PostgreSQL runs it once per row (asyncpg's executemany sends them all at once). SQLite gets
    statements of up to SQLITE_ROWS_PER_STATEMENT rows each, in the caller's transaction: Python's
    sqlite3 binds each row of an executemany while holding the interpreter lock, which it takes
    back after every row, so a write held up the matching of the next chunk (and was held up by
    it); a many-row statement binds its values at once and writes them all without the lock.
    """

    query: str
    """The statement for one row (executemany)."""
    _sqlite_around: tuple[str, str]
    """What comes before and after the rows' markers in an SQLite many-row statement."""

    def __init__(self, model: type[Model], columns: Sequence[str]) -> None:
        self.names, self._converters = _columns(model, columns)
        self._width = len(columns)  # values per row
        self._texts: dict[int, str] = {}

    def _sqlite_text(self, rows: int) -> str:
        """The SQLite statement for ``rows`` rows (see the class), built once per count."""
        text = self._texts.get(rows)
        if text is None:
            head, tail = self._sqlite_around
            row = f"({', '.join('?' * self._width)})"
            text = self._texts[rows] = head + ", ".join([row] * rows) + tail
        return text

    def convert(self, rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """Each row's values as the database takes them (extra trailing values are kept as is)."""
        converters = self._converters
        width = len(converters)
        return [
            [convert(value) for convert, value in zip(converters, row, strict=False)]
            + list(row[width:])
            for row in rows
        ]

    async def execute(self, connection: BaseDBAsyncClient, values: list[list[Any]]) -> None:
        """Run it for ``values`` (from :meth:`convert`) on ``connection``; nothing when empty.

        On SQLite, several statements outside a transaction would not be all or nothing: there,
        the rows go through one executemany, which Tortoise wraps in a transaction of its own.
        """
        if not values:
            return
        if dialect(connection) != "sqlite" or not isinstance(connection, TransactionalDBClient):
            await connection.execute_many(self.query, values)
            return
        await in_sqlite_thread(connection, lambda database: self.run_sqlite(database, values))

    def run_sqlite(self, database: sqlite3.Connection, values: list[list[Any]]) -> None:
        """Run it for ``values`` on an SQLite connection, in its thread (:func:`in_sqlite_thread`)
        and in a transaction: several statements are all or nothing only in one."""
        start = 0
        for rows in sqlite_statement_sizes(len(values)):
            # chain: the rows' values in one list without a Python step per value (2.6 million
            # values for a 100,000-entry file).
            database.execute(
                self._sqlite_text(rows), list(chain.from_iterable(values[start : start + rows]))
            )
            start += rows


class Insert(_Statement):
    """``INSERT INTO table (columns…) VALUES (…)`` for many rows."""

    def __init__(
        self, connection: BaseDBAsyncClient, model: type[Model], columns: Sequence[str]
    ) -> None:
        super().__init__(model, columns)
        marks = ", ".join(placeholder(connection, i) for i in range(1, len(columns) + 1))
        head = f'INSERT INTO "{model._meta.db_table}" ({", ".join(self.names)}) VALUES '  # noqa: S608
        self.query = f"{head}({marks})"
        self._sqlite_around = (head, "")


class Update(_Statement):
    """``UPDATE table SET columns… WHERE id = …`` for many rows; each row holds the values of
    ``columns`` followed by the primary key."""

    def __init__(
        self, connection: BaseDBAsyncClient, model: type[Model], columns: Sequence[str]
    ) -> None:
        super().__init__(model, columns)
        meta = model._meta
        assignments = ", ".join(
            f"{name} = {placeholder(connection, i)}" for i, name in enumerate(self.names, start=1)
        )
        pk = meta.pk.source_field or meta.pk_attr
        self.query = (
            f'UPDATE "{meta.db_table}" SET {assignments} '  # noqa: S608 - names come from the model
            f'WHERE "{pk}" = {placeholder(connection, len(columns) + 1)}'
        )
        # SQLite names the columns of a VALUES list column1, column2 …; the key comes last.
        self._width = len(columns) + 1
        from_values = ", ".join(
            f"{name} = v.column{i}" for i, name in enumerate(self.names, start=1)
        )
        self._sqlite_around = (
            f'UPDATE "{meta.db_table}" SET {from_values} FROM (VALUES ',  # noqa: S608
            f') AS v WHERE "{meta.db_table}"."{pk}" = v.column{self._width}',
        )


async def update_many(
    connection: BaseDBAsyncClient,
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """``UPDATE table SET columns… WHERE id = …`` once per row (executemany).

    Each row holds the values of ``columns`` followed by the primary key.
    """
    statement = Update(connection, model, columns)
    await statement.execute(connection, statement.convert(rows))


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
    if dialect(connection) == "postgres":
        _, rows = await connection.execute_query(
            f"SELECT nextval(pg_get_serial_sequence('\"{table}\"', '{pk}')) AS id "  # noqa: S608
            "FROM generate_series(1, $1)",
            [count],
        )
        return [int(row["id"]) for row in rows]
    return await in_sqlite_thread(
        connection, lambda database: reserve_sqlite_ids(database, model, count)
    )


def reserve_sqlite_ids(database: sqlite3.Connection, model: type[Model], count: int) -> list[int]:
    """:func:`reserve_ids` on an SQLite connection, in its thread (:func:`in_sqlite_thread`)."""
    if count <= 0:
        return []
    meta = model._meta
    table, pk = meta.db_table, meta.pk.source_field or meta.pk_attr
    (top,) = database.execute(
        f'SELECT COALESCE(MAX("{pk}"), 0) FROM "{table}"'  # noqa: S608
    ).fetchone()
    return list(range(int(top) + 1, int(top) + 1 + count))


async def insert_many(
    connection: BaseDBAsyncClient,
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """``INSERT INTO table (columns…) VALUES …`` for many rows at once, without building model
    instances (each costs more than the row's insert); values are converted as Tortoise does."""
    statement = Insert(connection, model, columns)
    await statement.execute(connection, statement.convert(rows))
