"""The audit log: who read or changed what, when, from where, with which outcome.

Append-only and tamper-evident: each event stores the SHA-256 of the previous event's hash and
its own content, so editing or deleting an event breaks the chain that :func:`verify_chain`
walks. Events older than the retention (12 months by default, CNIL délibération 2021-122) are
purged, and the purge itself is logged. Nothing secret is ever written here: no PIN, password,
token, device secret, full IBAN or file content — callers pass identifiers and outcomes only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from regie.db import auth
from regie.services.access import Viewer, require_admin
from regie.services.clock import now_utc

logger = logging.getLogger("regie.audit")

GENESIS = "0" * 64
OK, DENIED, FAILED = "ok", "denied", "failed"


@dataclass(frozen=True)
class Event:
    at: datetime
    actor: str
    surface: str
    action: str
    tenant_code: str | None
    outcome: str
    detail: str = ""


def actor_of(viewer: Viewer | None) -> str:
    return viewer.label if viewer is not None else "anonymous"


@dataclass
class AuditTrail:
    """The events of one request, written together when the request ends (one short transaction)."""

    actor: str
    surface: str
    pending: list[Event] = field(default_factory=list)

    def note(
        self, action: str, tenant_code: str | None = None, outcome: str = OK, detail: str = ""
    ) -> None:
        self.pending.append(
            Event(now_utc(), self.actor, self.surface, action, tenant_code, outcome, detail[:200])
        )

    async def flush(self) -> None:
        events, self.pending = self.pending, []
        if not events:
            return
        if _writer is not None and _writer.running:
            _writer.submit(events)
        else:
            await append(events)


class AuditWriter:
    """Writes the read events of many requests together, off the request path.

    A lookup would otherwise spend a transaction on its audit events (measured: about a third of
    a ``tenant(code)`` request on SQLite). Events wait here at most ``interval`` seconds; the
    server's shutdown drains them. A crash of the process loses at most that window of read
    events; sign-ins, admin actions and imports are written at once by :func:`record` and
    :func:`append`.
    """

    def __init__(
        self,
        interval: float = 0.2,
        max_pending: int = 2000,
        connection: BaseDBAsyncClient | None = None,
    ) -> None:
        self.interval = interval
        self.connection = connection
        """Where to write (see :func:`regie.services.database.open_background_connection`)."""
        self.max_pending = max_pending
        self.pending: list[Event] = []
        self.running = False
        self._wake = asyncio.Event()

    def submit(self, events: list[Event]) -> None:
        self.pending.extend(events)
        if len(self.pending) >= self.max_pending:
            self._wake.set()

    async def write_pending(self) -> None:
        events, self.pending = self.pending, []
        if not events:
            return
        try:
            await append(events, connection=self.connection)
        except BaseException:
            self.pending[:0] = events  # kept for the next attempt, in their order
            raise

    async def run(self) -> None:
        self.running = True
        try:
            while self.running:
                with contextlib.suppress(TimeoutError):  # woken early when many are pending
                    await asyncio.wait_for(self._wake.wait(), self.interval)
                self._wake.clear()
                try:
                    await self.write_pending()
                except Exception:
                    logger.exception("could not write %d audit events; retrying", len(self.pending))
        finally:
            self.running = False

    async def stop(self) -> None:
        """Stop after writing what is pending (the server is shutting down)."""
        self.running = False
        self._wake.set()
        await self.write_pending()


_writer: AuditWriter | None = None


def use_writer(writer: AuditWriter | None) -> None:
    """Route request events through ``writer`` (the server's lifespan sets it; tests and CLI do not)."""
    global _writer
    _writer = writer


def _fields(event: Event) -> list[object]:
    """The event's columns in the table's order (before ``previous_hash`` and ``hash``): what the
    chain's hash covers, and what is written."""
    return [
        event.at,
        event.actor,
        event.surface,
        event.action,
        event.tenant_code,
        event.outcome,
        event.detail,
    ]


def _chain(previous_hash: str, event: Event) -> str:
    _, *rest = _fields(event)  # the time as ISO text
    content = json.dumps([event.at.isoformat(), *rest], ensure_ascii=False)
    return hashlib.sha256(f"{previous_hash}|{content}".encode()).hexdigest()


async def _last_hash(connection: BaseDBAsyncClient) -> str:
    _, rows = await connection.execute_query(
        "SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1"
    )
    return str(rows[0]["hash"]) if rows else GENESIS


def _within_columns(event: Event) -> Event:
    """``event`` cut to its columns' lengths, before it is hashed (what is stored is what is chained)."""
    return Event(
        event.at,
        event.actor[:80],
        event.surface[:10],
        event.action[:40],
        event.tenant_code[:12] if event.tenant_code is not None else None,
        event.outcome[:10],
        event.detail[:200],
    )


_COLUMNS = "at, actor, surface, action, tenant_code, outcome, detail, previous_hash, hash"
ROWS_PER_INSERT = 100
"""Events chained and written per statement. The writer shares the event loop with the lookups:
a batch of 420 events chained and sent in one statement held the loop 3.5 ms on PostgreSQL
(hashing, encoding, sending 75 kB); 100 at a time, about 1 ms, the lookups running between."""
# PostgreSQL takes the events as one array per column: one statement text whatever their number,
# which asyncpg prepares once per connection; a multi-row VALUES list is a new text for each
# number of rows, parsed and planned again. (Building that list marker by marker, each asking the
# connection for its dialect, held the event loop 11 ms for 420 events, on SQLite too.)
_POSTGRES_INSERT = (
    f"INSERT INTO audit_event ({_COLUMNS}) SELECT * FROM unnest("  # noqa: S608 - constant text
    "$1::timestamptz[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[], "
    "$6::varchar[], $7::varchar[], $8::varchar[], $9::varchar[])"
)
_SQLITE_ROW = "(" + ", ".join("?" * 9) + ")"


def _multi_row_insert(count: int) -> str:
    """One SQLite INSERT of ``count`` events. One statement instead of one per row: each row of an
    ``executemany`` takes the interpreter lock back from the request being served."""
    return f"INSERT INTO audit_event ({_COLUMNS}) VALUES {', '.join([_SQLITE_ROW] * count)}"  # noqa: S608


async def _insert(writing: BaseDBAsyncClient, rows: list[list[object]]) -> None:
    if writing.capabilities.dialect == "postgres":
        columns = [list(column) for column in zip(*rows, strict=True)]
        await writing.execute_query(_POSTGRES_INSERT, columns)
    else:
        values = [value for row in rows for value in row]
        await writing.execute_query(_multi_row_insert(len(rows)), values)


async def append(
    events: list[Event], attempts: int = 20, *, connection: BaseDBAsyncClient | None = None
) -> None:
    """Chain ``events`` after the last one and write them; retried when another writer got there first.

    On ``connection`` when given (the audit writer's own), else on the default connection,
    joining the caller's transaction if there is one.
    """
    events = [_within_columns(event) for event in events]
    for _ in range(attempts):
        try:
            # Tortoise's in_transaction() knows registered connections only.
            transaction = in_transaction() if connection is None else connection._in_transaction()
            async with transaction as writing:
                previous = await _last_hash(writing)
                for start in range(0, len(events), ROWS_PER_INSERT):
                    # Without a model instance per event: the read events of busy lookups are
                    # most of what this writes.
                    rows, previous = _chained(previous, events[start : start + ROWS_PER_INSERT])
                    await _insert(writing, rows)
            return
        except IntegrityError:
            continue
    raise RuntimeError("could not append to the audit log: too many concurrent writers")


def append_in_sqlite_transaction(database: sqlite3.Connection, events: list[Event]) -> None:
    """:func:`append` inside a transaction already open on an SQLite connection, in its thread
    (:func:`regie.services.bulk.in_sqlite_thread`), that holds the write lock: nobody can
    append in between, and the events are written, or not, with the rest of that transaction."""
    events = [_within_columns(event) for event in events]
    last = database.execute("SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1").fetchone()
    previous = str(last[0]) if last else GENESIS
    for start in range(0, len(events), ROWS_PER_INSERT):
        rows, previous = _chained(previous, events[start : start + ROWS_PER_INSERT])
        database.execute(_multi_row_insert(len(rows)), [value for row in rows for value in row])


def _chained(previous: str, events: list[Event]) -> tuple[list[list[object]], str]:
    """The rows of ``events`` chained after ``previous``, and the last one's hash."""
    rows: list[list[object]] = []
    for event in events:
        current = _chain(previous, event)
        rows.append([*_fields(event), previous, current])
        previous = current
    return rows, previous


async def record(viewer: Viewer | None, surface: str, action: str, **kwargs: str | None) -> None:
    """Write one event now (sign-ins, admin actions)."""
    trail = AuditTrail(actor_of(viewer), surface)
    trail.note(action, **kwargs)  # type: ignore[arg-type]
    await trail.flush()


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    events_checked: int
    first_broken_id: int | None


async def verify_chain(batch_size: int = 5000) -> ChainReport:
    """Walk the whole log; the first event whose link or content does not add up breaks it.

    After a purge the oldest remaining event is trusted as the start of the chain.
    """
    checked = 0
    previous: str | None = None
    last_id = 0
    while True:
        rows = await auth.AuditEvent.filter(id__gt=last_id).order_by("id").limit(batch_size)
        if not rows:
            return ChainReport(True, checked, None)
        for row in rows:
            event = Event(
                row.at, row.actor, row.surface, row.action, row.tenant_code, row.outcome, row.detail
            )
            expected_previous = row.previous_hash if previous is None else previous
            if row.previous_hash != expected_previous or row.hash != _chain(
                expected_previous, event
            ):
                return ChainReport(False, checked, row.id)
            previous = row.hash
            checked += 1
            last_id = row.id


async def purge(before: datetime) -> int:
    """Delete events older than ``before`` (the retention limit) and log that it happened."""
    async with in_transaction():
        deleted = await auth.AuditEvent.filter(at__lt=before).delete()
    await append(
        [
            Event(
                now_utc(),
                "system",
                "cli",
                "audit.purge",
                None,
                OK,
                f"{deleted} events before {before.date()}",
            )
        ]
    )
    return deleted


async def purge_every_day(retention_days: int) -> None:
    """The server's retention: purge at start, then once a day (``regie audit purge`` does it by hand)."""
    while True:
        try:
            await purge(now_utc() - timedelta(days=retention_days))
        except Exception:
            logger.exception("audit purge failed; retrying in a day")
        await asyncio.sleep(86400)


async def list_events(
    viewer: Viewer,
    *,
    tenant_code: str | None = None,
    actor: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[auth.AuditEvent]:
    """Admins only: the newest events first, optionally for one tenant or one actor."""
    require_admin(viewer)
    query = auth.AuditEvent.all()
    if tenant_code:
        query = query.filter(tenant_code=tenant_code)
    if actor:
        query = query.filter(actor=actor)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.order_by("-id").limit(min(max(limit, 1), 100))
