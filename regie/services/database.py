"""Database housekeeping that depends on the dialect: migrations, id sequences."""

from __future__ import annotations

import contextvars
import importlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.migrations.api.migrate import migrate as run_migrations

from regie.db.config import with_sqlite_busy_timeout


def dialect() -> str:
    return str(connections.get("default").capabilities.dialect)


async def migrate(config: dict[str, Any]) -> None:
    """Apply every pending migration (Tortoise's built-in, dialect-neutral migrations)."""
    await run_migrations(config=config)


async def reset_id_sequences() -> None:
    """After rows were written with explicit ids, move PostgreSQL's id sequences past them.

    SQLite needs nothing: its rowid continues from the largest id.
    """
    if dialect() != "postgres":
        return
    connection = connections.get("default")
    for app in Tortoise.apps.values():
        for model in app.values():
            meta = model._meta
            if not meta.pk.generated:
                continue
            table, column = meta.db_table, meta.pk.source_field or meta.pk_attr
            await connection.execute_script(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "  # noqa: S608
                f'COALESCE((SELECT MAX("{column}") FROM "{table}"), 0) + 1, false)'
            )


async def delete_all_rows() -> None:
    """Empty every table of every model (``demo --reset``), keeping the schema and its migrations."""
    from tortoise.contrib.test import truncate_all_models

    await truncate_all_models()
    if dialect() == "postgres":
        return  # TRUNCATE … CASCADE emptied the many-to-many tables too
    connection = connections.get("default")
    for app in Tortoise.apps.values():
        for model in app.values():
            for name in model._meta.m2m_fields:
                through = model._meta.fields_map[name].through
                await connection.execute_script(f'DELETE FROM "{through}"')  # noqa: S608


async def analyze() -> None:
    """Refresh the planner's statistics after a bulk load (without them PostgreSQL picked plans
    measured 15 times slower on the 125,000-dwelling office).

    PostgreSQL also gets a VACUUM: until its visibility map covers the new rows, it prices the
    search's index-only scans as heap reads and walked all 139,000 tenants instead (550 ms
    against 1 ms for a two-word search). Autovacuum does the same later on a live database.
    """
    statement = "VACUUM ANALYZE" if dialect() == "postgres" else "ANALYZE"
    await connections.get("default").execute_script(statement)


async def open_background_connection(database_url: str) -> BaseDBAsyncClient | None:
    """A second connection to an SQLite file, for the server's background writes (the audit
    writer); ``None`` where the default connection serves as well.

    Tortoise gives SQLite one connection behind one lock: a write holds every lookup until it
    commits (the audit writer's batches, 10 to 90 ms each, set the lookups' p95). In WAL mode a
    reader on another connection never waits for a writer, so lookups go on while a batch is
    written. PostgreSQL's pool already gives each query a connection of its own, and an
    in-memory SQLite database exists only on its one connection. The connection is not
    registered with Tortoise (which would then ask every transaction to name its connection):
    its owner uses it explicitly and closes it.
    """
    if not database_url.startswith("sqlite://") or ":memory:" in database_url:
        return None
    settings = expand_db_url(with_sqlite_busy_timeout(database_url))
    client_class = importlib.import_module(settings["engine"]).client_class
    client: BaseDBAsyncClient = client_class(
        connection_name="background", **settings["credentials"]
    )
    await client.create_connection(with_db=True)
    return client


_on_own_connection: ContextVar[bool] = ContextVar("regie_on_own_connection", default=False)

OWN_CONNECTION_PRAGMAS = {"cache_size": -65536, "wal_autocheckpoint": 10000}
"""What the long writer's SQLite connection changes from the defaults (a 2 MiB page cache, a
checkpoint every 1,000 pages of WAL). An import's writes land all over the payments' index by
lease and the account snapshots: with 64 MiB of cache their pages are read from the file once,
not once per transaction, and a checkpoint every 10,000 pages (40 MiB of WAL) copies each page
back to the file once for several transactions that rewrote it. Measured on a 100,000-entry
file: the import 15 % faster."""


@asynccontextmanager
async def own_connection() -> AsyncIterator[bool]:
    """Run the block's queries, ORM and hand-written alike, where its transactions hold up no
    request: for long writers (a bank file's import).

    Tortoise gives SQLite one connection behind one lock, so a transaction on it holds every
    lookup of the process until it commits. The block gets a second connection to the same
    file: in WAL mode lookups read the last committed state and never wait for the writer, whose
    transactions can then be long enough to be cheap. The block sees it as ``"default"`` (Tortoise
    keeps connections per task context, which is how its own transactions work), so the code
    inside needs no connection passed around; tasks it starts inherit it and must end within the
    block. PostgreSQL's pool already gives each transaction a connection of its own.

    Yields whether the block's transactions are apart from requests: not on an in-memory SQLite
    database (it exists only on its one connection), nor inside a transaction (whose connection
    the block must keep using).
    """
    default = connections.get("default")
    if _on_own_connection.get():
        yield True
        return
    if not isinstance(default, SqliteClient):
        flag = _on_own_connection.set(True)  # PostgreSQL: a pool
        try:
            yield True
        finally:
            _on_own_connection.reset(flag)
        return
    if type(default) is not SqliteClient or default.filename == ":memory:":
        yield False  # a transaction wrapper (stay in it), or the only connection there can be
        return
    async with _second_connection(default, **OWN_CONNECTION_PRAGMAS) as own:
        token = connections.set("default", own)
        flag = _on_own_connection.set(True)
        try:
            yield True
        finally:
            _on_own_connection.reset(flag)
            connections.reset(token)


@asynccontextmanager
async def _second_connection(to: SqliteClient, **pragmas: Any) -> AsyncIterator[SqliteClient]:
    """Another connection to ``to``'s file, with its pragmas and ``pragmas`` over them; closed
    when the block ends."""
    client = SqliteClient(to.filename, connection_name="default", **{**to.pragmas, **pragmas})
    await client.create_connection(with_db=True)
    try:
        yield client
    finally:
        await client.close()


def on_own_connection() -> bool:
    """Whether the current task runs inside :func:`own_connection`, apart from requests."""
    return _on_own_connection.get()


@asynccontextmanager
async def reading_beside() -> AsyncIterator[contextvars.Context | None]:
    """A context for tasks that read the last committed state while the current task's
    :func:`own_connection` is inside a transaction (an import matching its next entries while
    it writes the current ones); ``None`` outside :func:`own_connection`.

    On SQLite the own connection is one connection behind one lock: a read on it waits for the
    transaction to end. Tasks started in the context get a connection of their own for reading
    (``query_only``: it cannot write by mistake). PostgreSQL's pool already gives each query a
    connection: the context is the current one.
    """
    if not _on_own_connection.get():
        yield None
        return
    default = connections.get("default")
    if not isinstance(default, SqliteClient):
        yield contextvars.copy_context()
        return
    async with _second_connection(default, query_only="ON") as reader:
        context = contextvars.copy_context()
        context.run(connections.set, "default", reader)
        yield context


def placeholder(position: int) -> str:
    """The SQL parameter marker at 1-based ``position`` for this database: ``?`` or ``$n``."""
    return f"${position}" if dialect() == "postgres" else "?"


async def fetch(sql: str, params: list[object]) -> list[dict[str, Any]]:
    """Rows of a parameterised query, for the few queries the ORM cannot express."""
    _, rows = await connections.get("default").execute_query(sql, params)
    return [dict(row) for row in rows]


# Hand-written queries get dates, timestamps and JSON back as text from SQLite and as Python
# values from PostgreSQL; these decode either (timestamps are stored in UTC).


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def as_optional_date(value: Any) -> date | None:
    return None if value is None else as_date(value)


def as_datetime(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def as_optional_datetime(value: Any) -> datetime | None:
    return None if value is None else as_datetime(value)


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value
