"""Applying confirmations (a bank file's entries, or a push delivery) exactly once.

A delivery is one :class:`~regie.db.imports.ImportBatch`, unique by channel and message key:

- the same content again → ``ALREADY_IMPORTED``, nothing changes;
- the same message key with other content → ``CONFLICT``, nothing is merged;
- a batch left ``running`` by a killed importer is resumed by the next run; one whose importer is
  still alive (same host and a live process, or progress in the last minute) → ``IN_PROGRESS``.

Entries are applied in chunks, each in one short transaction that inserts the entries' identity
rows (UNIQUE ``entry_key``) together with their ledger effects, the queue items, the rejected
lines, the account snapshots and the batch's counters. A crash therefore leaves every entry
wholly applied or not at all, and the counters agree with what was applied; an entry already
applied by any batch counts as a duplicate. Live updates are published after each chunk commits,
and each tenant whose account the batch changed is audited once, in the transaction of the first
such chunk on an SQLite file (where a chunk is written in one call: _write_in_one_call), right
after it elsewhere.

Everything but the writes happens outside the transactions: records are matched a few thousand
at a time (a handful of queries), rows are built, and only then does a transaction run. A file's
next records are matched while its current chunk is written, and a large file's first records
while the file itself is still being checked (:class:`EarlyMatching`). Files and pushes are
applied on a connection of their own (:func:`regie.services.database.own_connection`): lookups
do not wait for their transactions, sized to last about OWN_CONNECTION_TRANSACTION_SECONDS, nor
for a push waiting for a file's. On an in-memory SQLite database everything shares the one
connection every lookup waits for: transactions are sized to TRANSACTION_SECONDS.

Pending and information-only entries (camt ``PDNG``/``INFO``) are counted and not applied; they
leave no identity row, so the booked entry that follows is applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import hashlib
import itertools
import logging
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, cast, runtime_checkable

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from regie.db import imports, ledger, matching, treasury
from regie.services import accounts, audit, bulk, database, events, garbage, payers
from regie.services import matching as matcher
from regie.services.clock import now_utc
from regie.treasury.records import BankEntry, RejectedEntry

logger = logging.getLogger("regie.imports")

CHUNK_SIZE = 250
"""Entries in the first chunk of an import; the next ones are sized to TRANSACTION_SECONDS."""
TRANSACTION_SECONDS = 0.015
"""How long a chunk's transaction should last. On SQLite every lookup of the process waits while
one runs, so its length, not the number of entries, is what a chunk must keep small; the same
number of entries takes twice as long on a machine twice as busy."""
CHUNK_LIMITS = (50, 2000)
OWN_CONNECTION_TRANSACTION_SECONDS = 0.25
"""The same, for an import on a connection of its own (an SQLite file; PostgreSQL): lookups do not
wait for its transactions, only other writers do (a push, an office user's change), and a longer
transaction costs less per entry (its commit, the index pages and snapshots it rewrites): 0.25 s
instead of 0.1 made a 100,000-entry import 10 % faster."""
OWN_CONNECTION_CHUNK_LIMITS = (50, 20000)
"""The time above sizes the chunks; the upper limit only bounds a transaction's memory. 10,000
held chunks below the time on a quick machine: each chunk rewrites the payments' index by lease and
the snapshots it touches, and 20,000 cost the importing process a tenth less CPU."""
PLAN_SIZE = 2000
"""Records matched together, then written in as many transactions as their size calls for."""
EARLY_RECORDS = 30_000
"""Records a file's import reads and matches at most before the file's checks accept it (see
:class:`EarlyMatching`): about what its reader has ready by then."""
STALE_AFTER = timedelta(seconds=60)
"""An importer that made no progress for this long is presumed dead; its batch may be resumed."""
MAX_ATTEMPTS = 5
AUDIT_EVENTS_PER_WRITE = 100
_HOST = socket.gethostname()
PAYMENT_COLUMNS = (
    "id", "lease_id", "amount_cents", "method", "status", "source", "paid_on", "recorded_at",
)  # fmt: skip
IDENTITY_COLUMNS = (
    "entry_key", "batch_id", "outcome", "credit", "amount_cents", "booked_on", "end_to_end_id",
    "payment_id",
)  # fmt: skip
CONFIRMATION_COLUMNS = (
    "payment_id",
    "channel",
    "source",
    "booked_on",
    "applied_at",
    "bank_reference",
)
SNAPSHOT_COLUMNS = (
    "id", "lease_id", "confirmed_cents", "declared_cents", "open_charges", "last_payment_id",
    "as_of",
)  # fmt: skip
QUEUE_COLUMNS = (
    "batch_id", "entry_key", "kind", "status", "amount_cents", "booked_on", "payer_name",
    "payer_iban_fingerprint", "payer_iban_last4", "remittance", "end_to_end_id", "bulk_payer",
    "reason", "suggestions", "created_at",
)  # fmt: skip
REJECTED_COLUMNS = ("batch_id", "position", "reason")

Record = BankEntry | RejectedEntry
Progress = Callable[[int, int], None]


class Outcome(StrEnum):
    IMPORTED = "imported"
    ALREADY_IMPORTED = "already_imported"
    IN_PROGRESS = "in_progress"
    CONFLICT = "conflict"
    REFUSED = "refused"  # the file as a whole was refused (structural error, too large …)


@dataclass(frozen=True)
class ImportRequest:
    channel: imports.ImportChannel
    format: str
    message_id: str
    message_key: str
    content_sha256: str
    source: str
    file_name: str | None = None
    user_id: int | None = None


@dataclass
class Counts:
    read: int = 0
    new: int = 0
    duplicates: int = 0
    matched: int = 0
    unmatched: int = 0
    ignored: int = 0
    pending: int = 0
    rejected: int = 0
    credit_cents: int = 0

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @classmethod
    def of(cls, batch: imports.ImportBatch) -> Counts:
        return cls(
            read=batch.read_count,
            new=batch.new_count,
            duplicates=batch.duplicate_count,
            matched=batch.matched_count,
            unmatched=batch.unmatched_count,
            ignored=batch.ignored_count,
            pending=batch.pending_count,
            rejected=batch.rejected_count,
            credit_cents=batch.total_credit_cents,
        )


@dataclass
class ImportReport:
    outcome: Outcome
    message: str
    batch_id: int | None = None
    counts: Counts = field(default_factory=Counts)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    """(position, reason) of the rejected lines, first ones only (see ``counts.rejected``)."""
    resumed: bool = False
    format: str | None = None
    chunk_sizes: list[int] = field(default_factory=list)
    """Entries in each chunk this run applied (one transaction each), in order."""

    @property
    def failed(self) -> bool:
        """Anything a person must look at: a refusal, a conflict, or a rejected line."""
        return self.outcome in (Outcome.CONFLICT, Outcome.REFUSED) or self.counts.rejected > 0


class LostOwnership(Exception):
    """Another importer took the batch over (this one was presumed dead)."""


def entry_key(entry_id: str) -> str:
    """The identity row's key: the reader's entry id, hashed when too long for the column."""
    if len(entry_id) <= imports.ENTRY_KEY_MAX_LENGTH:
        return entry_id
    return "sha256:" + hashlib.sha256(entry_id.encode()).hexdigest()


def _owner_token() -> str:
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _owner_gone(owner: str, heartbeat_at: datetime, now: datetime) -> bool:
    if not owner or now - heartbeat_at > STALE_AFTER:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def _claim(
    request: ImportRequest, owner: str
) -> tuple[imports.ImportBatch, Outcome | None, bool]:
    """Create the batch, or take over an abandoned one. Returns (batch, refusal, resumed)."""
    now = now_utc()
    try:
        batch = await imports.ImportBatch.create(
            channel=request.channel,
            message_key=request.message_key,
            message_id=request.message_id[:200],
            content_sha256=request.content_sha256,
            format=request.format,
            file_name=request.file_name,
            source=request.source[:120],
            user_id=request.user_id,
            status=imports.ImportStatus.RUNNING,
            owner=owner,
            heartbeat_at=now,
            started_at=now,
        )
        return batch, None, False
    except IntegrityError:
        pass
    batch = await imports.ImportBatch.get(channel=request.channel, message_key=request.message_key)
    if batch.content_sha256 != request.content_sha256:
        return batch, Outcome.CONFLICT, False
    if batch.status == imports.ImportStatus.DONE:
        return batch, Outcome.ALREADY_IMPORTED, False
    if not _owner_gone(batch.owner, batch.heartbeat_at, now):
        return batch, Outcome.IN_PROGRESS, False
    taken = await imports.ImportBatch.filter(id=batch.id, owner=batch.owner).update(
        owner=owner, heartbeat_at=now
    )
    if taken != 1:
        return batch, Outcome.IN_PROGRESS, False
    await batch.refresh_from_db()
    return batch, None, True


@runtime_checkable
class RecordSource(Protocol):
    """Records handed out a few at a time: a file read by another thread or process."""

    async def take(self, count: int) -> list[Record]:
        """Up to ``count`` next records; an empty list at the end."""
        ...


class _IterableSource:
    """An iterable's records; with a ``reader`` executor, the next chunk is read in its thread
    while the caller applies the current one."""

    def __init__(self, records: Iterable[Record], reader: Executor | None) -> None:
        self._iterator = iter(records)
        self._reader = reader
        self._ahead: asyncio.Future[list[Record]] | None = None

    def _take(self, count: int) -> list[Record]:
        return list(itertools.islice(self._iterator, count))

    async def take(self, count: int) -> list[Record]:
        if self._reader is None:
            return self._take(count)
        # Parsing is CPU work: in a thread, lookups served by the same event loop are not held up.
        # Always the same thread (a one-worker executor): lxml parsers must not change threads.
        loop = asyncio.get_running_loop()
        ahead = self._ahead or loop.run_in_executor(self._reader, self._take, count)
        self._ahead = None
        chunk = await ahead
        if chunk:
            self._ahead = loop.run_in_executor(self._reader, self._take, count)
        return chunk

    async def settle(self) -> None:
        """Wait for a read-ahead nobody will use (the import ended early): the reader's thread is
        then free for whatever closes the file."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            await asyncio.wait([ahead])
            if not ahead.cancelled():
                ahead.exception()  # retrieved: the import's own outcome is what is reported


class EarlyMatching:
    """A file's first records, read and matched while the file is still being checked.

    Nothing may be written before the checks accept the whole file, but reading and matching
    write nothing: on a large camt file the checks take a third of a second, during which the
    import used to wait with its reader's records ready. :func:`run_import` starts with what was
    matched here. Matched before the batch was claimed, these records' chunks are written as any
    chunk matched ahead of the writes before it: their writes check that the declared payments
    they confirm are still declared, and identity keys that another importer wrote meanwhile
    roll the chunk back (see _apply_chunk), to be matched again.

    It stops at the first batch with a returned payment (whose original may be among the
    payments written before it: such a batch is matched once they are), at ``limit`` records,
    or when told to.
    """

    def __init__(self, source: RecordSource, limit: int = EARLY_RECORDS) -> None:
        self._source = source
        self._stopping = False
        self._task = asyncio.create_task(self._match(limit))

    async def _match(self, limit: int) -> tuple[list[_Planned], list[Record], Exception | None]:
        """The records matched, those read and not matched (a batch with a return), and the
        error that ended the reading, if any."""
        bulk_payers = await matcher.registered_bulk_payers()
        planned: list[_Planned] = []
        while not self._stopping and len(planned) < limit:
            records, failure = await _take(self._source, PLAN_SIZE, PLAN_SIZE)
            if any(isinstance(r, BankEntry) and matcher.is_return(r) for r in records):
                return planned, records, failure
            planned += await _sort_out(records, bulk_payers)
            if failure is not None or len(records) < PLAN_SIZE:
                return planned, [], failure  # the end of the records, or of the reading
        return planned, [], None

    async def stop(self) -> tuple[list[_Planned], list[Record], Exception | None]:
        """What was read and matched, once the batch under way is (a few milliseconds)."""
        self._stopping = True
        return await self._task

    async def cancel(self) -> None:
        """Stop at once: the file was refused, or the import is stopping."""
        self._task.cancel()
        await asyncio.wait([self._task])
        if not self._task.cancelled():
            self._task.exception()  # retrieved: the import reports its own outcome


async def run_import(
    request: ImportRequest,
    records: Iterable[Record] | RecordSource,
    *,
    expected_records: int = 0,
    progress: Progress | None = None,
    chunk_size: int | None = None,
    reader: Executor | None = None,
    early: EarlyMatching | None = None,
) -> ImportReport:
    """Apply ``records`` as the batch ``request`` describes; see the module docstring.

    ``records`` is an iterable (read in ``reader``'s thread when given, the next chunk while the
    current one is applied) or a :class:`RecordSource`; ``early``, the records of that source
    already read and matched (its caller ends it, :meth:`EarlyMatching.cancel`, however the import
    ends). ``chunk_size`` fixes the entries per transaction; by default they follow how long
    transactions take (:class:`_ChunkSizer`).
    The import runs on a database connection of its own where there can be one
    (:func:`regie.services.database.own_connection`): a push too, so that while it waits for a
    file's transaction the lookups sharing the process's connection do not wait with it.
    """
    a_file = request.channel == imports.ImportChannel.FILE
    with garbage.fewer_collections() if a_file else contextlib.nullcontext():
        matched_early = await early.stop() if early is not None else ([], [], None)
        async with database.own_connection():
            return await _run_import(
                request, records, expected_records, progress, chunk_size, reader, matched_early
            )


async def _run_import(
    request: ImportRequest,
    records: Iterable[Record] | RecordSource,
    expected_records: int,
    progress: Progress | None,
    chunk_size: int | None,
    reader: Executor | None,
    matched_early: tuple[list[_Planned], list[Record], Exception | None],
) -> ImportReport:
    owner = _owner_token()
    batch, refusal, resumed = await _claim(request, owner)
    if refusal is not None:
        return await _refused_report(batch, refusal)
    # What EarlyMatching read before the claim comes first: (records, their plans or None).
    early_planned, early_rest, early_failure = matched_early
    early_batches: list[tuple[list[Record], list[_Planned] | None]] = []
    if early_planned:
        early_batches.append(([item.record for item in early_planned], early_planned))
    if early_rest:
        early_batches.append((early_rest, None))

    source = records if isinstance(records, RecordSource) else _IterableSource(records, reader)
    skip = batch.records_done
    position = 0
    bulk_payers = await matcher.registered_bulk_payers()
    audited: set[str] = set()
    # Only on a connection of its own: there, SQLite tells whether anybody else wrote.
    on_own_sqlite = (
        database.on_own_connection() and bulk.dialect(connections.get("default")) == "sqlite"
    )
    snapshot_cache = _SnapshotCache() if on_own_sqlite else None
    if database.on_own_connection():
        sizer = _ChunkSizer(
            chunk_size, OWN_CONNECTION_TRANSACTION_SECONDS, OWN_CONNECTION_CHUNK_LIMITS
        )
    else:
        sizer = _ChunkSizer(chunk_size, TRANSACTION_SECONDS, CHUNK_LIMITS)

    async def written(result: _ChunkResult, entries: int, applied: int) -> None:
        change, seconds = result
        sizer.observe(entries, seconds)
        if change is not None:
            await _audit_accounts(request, change, audited)
            await events.publish_accounts_changed(change)
        if progress is not None:
            progress(applied, max(expected_records, applied))

    # A push's few entries are matched and written at once: nothing to match ahead.
    ahead_of_writes = (
        database.reading_beside()
        if request.channel == imports.ImportChannel.FILE
        else contextlib.nullcontext(None)
    )
    async with ahead_of_writes as reading_context:
        writes = _Writes(pipelined=reading_context is not None)
        try:
            while True:
                matched: list[_Planned] | None = None
                if early_batches:
                    records, matched = early_batches.pop(0)
                    failure = None if early_batches else early_failure
                elif early_failure is not None:  # the reading failed before any record
                    records, failure = [], early_failure
                else:
                    # As many as a chunk holds, or what has come once the writes are waiting:
                    # a reader slower than the writes makes smaller chunks, not idle writes.
                    records, failure = await _take(
                        source, PLAN_SIZE, max(sizer.size, PLAN_SIZE), writes.idle
                    )
                if not records and failure is None:
                    break
                start = position
                position += len(records)
                if position <= skip and failure is None:
                    continue  # applied before the interruption
                if start < skip:
                    records = records[skip - start :]
                    if matched is not None:
                        matched = matched[skip - start :]
                # A return finds its original among the payments already written: with one in
                # the batch, each chunk is matched once the chunks before it are written.
                together = not any(
                    isinstance(r, BankEntry) and matcher.is_return(r) for r in records
                )
                ahead = together and writes.busy
                if matched is not None:
                    planned, ahead = matched, True  # matched before the batch was claimed
                elif together:
                    # While the previous chunk is being written, on a connection that reads what
                    # is committed: its writes check that nothing they rely on went stale.
                    planned = await _plan(records, bulk_payers, reading_context if ahead else None)
                else:
                    planned = []
                done = 0
                while done < len(records):
                    size = sizer.size
                    if not sizer.fixed and len(records) - done < size * 3 // 2:
                        size = len(records) - done  # no small chunk at the end: a commit costs
                    if together:
                        chunk = planned[done : done + size]
                    else:
                        await writes.wait()
                        chunk = await _plan(records[done : done + size], bulk_payers)
                    done += len(chunk)
                    # Its rows are built before the previous chunk's write ends, not after.
                    prepared = _Chunk(
                        batch.id, chunk, request.channel, request.source, snapshot_cache, audited
                    )
                    await writes.start(
                        _apply_chunk(batch.id, owner, prepared, bulk_payers, planned_ahead=ahead),
                        functools.partial(
                            written, entries=len(chunk), applied=position - len(records) + done
                        ),
                    )  # fmt: skip
                if failure is not None:
                    await writes.wait()
                    raise failure  # what was read before it is applied: a re-run resumes after it
            await writes.wait()
            now = now_utc()
            await imports.ImportBatch.filter(id=batch.id, owner=owner).update(
                status=imports.ImportStatus.DONE, finished_at=now, heartbeat_at=now, owner=""
            )
        except LostOwnership:
            await writes.cancel()
            return ImportReport(
                Outcome.IN_PROGRESS,
                "Another importer took this file over; it is completing it.",
                batch.id,
            )
        except BaseException:
            await writes.cancel()
            # Free the batch at once so a re-run resumes it without waiting for it to look stale.
            try:
                await asyncio.shield(
                    imports.ImportBatch.filter(id=batch.id, owner=owner).update(owner="")
                )
            except Exception:  # the database itself may be what failed
                logger.warning("could not release import batch %s", batch.id)
            raise
        finally:
            if isinstance(source, _IterableSource):
                await source.settle()
    await batch.refresh_from_db()
    report = ImportReport(
        Outcome.IMPORTED,
        "Imported (resumed after an interruption)." if resumed else "Imported.",
        batch.id,
        Counts.of(batch),
        await rejected_lines(batch.id),
        resumed=resumed,
        chunk_sizes=sizer.sizes,
    )
    await _audit(request, report)
    return report


_ChunkResult = tuple[events.AccountsChanged | None, float]


class _Writes:
    """A file's chunks, written one after the other, each in a task of its own: while one is
    written (in the database's thread, or by the server), the next records are read and matched.

    Only one write is ever under way, and what follows it (counting, auditing, publishing) runs
    before the next one starts, in order. Not ``pipelined`` (a push, an in-memory database: one
    connection for everything), each write is waited for as soon as it starts.
    """

    def __init__(self, *, pipelined: bool) -> None:
        self.pipelined = pipelined
        self._task: asyncio.Task[_ChunkResult] | None = None
        self._then: Callable[[_ChunkResult], Awaitable[None]] | None = None

    @property
    def busy(self) -> bool:
        return self._task is not None

    def idle(self) -> bool:
        """Whether no write is under way (what follows the last one may still be to run)."""
        return self._task is None or self._task.done()

    async def start(
        self,
        write: Coroutine[Any, Any, _ChunkResult],
        then: Callable[[_ChunkResult], Awaitable[None]],
    ) -> None:
        try:
            await self.wait()
        except BaseException:
            write.close()  # never started: the import ends with the previous write's outcome
            raise
        self._task = asyncio.create_task(write)
        self._then = then
        if not self.pipelined:
            await self.wait()

    async def wait(self) -> None:
        """Until the write under way, and what follows it, are done; raises what it raised."""
        task, then = self._task, self._then
        if task is None or then is None:
            return
        # Still held while awaited: if the import stops meanwhile, cancel() waits for it.
        result = await task
        self._task = self._then = None
        await then(result)

    async def cancel(self) -> None:
        """Stop the write under way (its transaction rolls back) and wait until it has."""
        task, self._task, self._then = self._task, None, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: the error that ends the import is the one reported


async def _audit_accounts(
    request: ImportRequest, change: events.AccountsChanged, audited: set[str]
) -> None:
    """One audit event per tenant whose account the batch changed, written as soon as the chunk
    that first changed it has committed: every write names its tenant, and the batch's rows say
    which entries it applied. (One per entry, as before, made the audit log as large as the file
    and cost an import about as much as its own writes.)"""
    codes = _not_yet_audited(change.tenant_codes, audited)
    audited.update(codes)
    events = _account_events(request.source, request.channel, change.batch_id, codes)
    # A few hundred events at a time: each append is a transaction that hashes its events, and
    # the first chunks of a file name hundreds of tenants.
    for start in range(0, len(events), AUDIT_EVENTS_PER_WRITE):
        await audit.append(events[start : start + AUDIT_EVENTS_PER_WRITE])


def _not_yet_audited(tenant_codes: Iterable[str], audited: set[str]) -> list[str]:
    return [code for code in dict.fromkeys(tenant_codes) if code not in audited]


def _account_events(
    source: str, channel: imports.ImportChannel, batch_id: int | None, codes: Sequence[str]
) -> list[audit.Event]:
    """What the audit log says of each tenant whose account a batch's confirmations changed."""
    at = now_utc()
    return [
        audit.Event(
            at=at,
            actor=source,
            surface=channel.value,
            action="treasury.confirmation",
            tenant_code=code,
            outcome=audit.OK,
            detail=f"batch {batch_id}",
        )
        for code in codes
    ]


async def _audit(request: ImportRequest, report: ImportReport) -> None:
    """One audit event per batch: each entry it applied is traceable through the batch's rows."""
    counts = report.counts
    await audit.append(
        [
            audit.Event(
                at=now_utc(),
                actor=request.source,
                surface=request.channel.value,
                action="treasury.import",
                tenant_code=None,
                outcome=audit.FAILED if report.failed else audit.OK,
                detail=(
                    f"batch {report.batch_id} {request.format}: {counts.read} read, {counts.new} new, "
                    f"{counts.matched} matched, {counts.unmatched} unmatched, {counts.rejected} rejected"
                ),
            )
        ]
    )


async def _refused_report(batch: imports.ImportBatch, refusal: Outcome) -> ImportReport:
    when = batch.finished_at or batch.started_at
    if refusal == Outcome.CONFLICT:
        message = (
            f"Conflict: message {batch.message_id!r} was already imported on {when:%Y-%m-%d %H:%M} "
            "UTC with different content; nothing of this file was applied."
        )
        return ImportReport(refusal, message, batch.id)
    if refusal == Outcome.ALREADY_IMPORTED:
        return ImportReport(
            refusal,
            f"Already imported on {when:%Y-%m-%d %H:%M} UTC (batch {batch.id}); nothing changed.",
            batch.id,
            Counts.of(batch),
            await rejected_lines(batch.id),
        )
    return ImportReport(
        refusal, f"Being imported by another process (batch {batch.id}); nothing changed.", batch.id
    )


async def rejected_lines(batch_id: int, limit: int = 1000) -> list[tuple[str, str]]:
    rows = (
        await imports.RejectedLine.filter(batch_id=batch_id)
        .order_by("id")
        .limit(limit)
        .values_list("position", "reason")
    )
    return [(position, reason) for position, reason in rows]


async def _take(
    source: RecordSource, piece: int, total: int, enough: Callable[[], bool] | None = None
) -> tuple[list[Record], Exception | None]:
    """Up to ``total`` records, read ``piece`` at a time, fewer if ``enough()`` says so after a
    piece, and the error that stopped the reading early, if any (the records read before it are
    still applied)."""
    records: list[Record] = []
    while len(records) < total:
        try:
            taken = await source.take(min(piece, total - len(records)))
        except Exception as error:
            return records, error
        if not taken:
            break
        records += taken
        if enough is not None and enough():
            break
    return records, None


class _ChunkSizer:
    """Entries per chunk: fixed when asked, else as many as fit in ``seconds``, from the
    transactions so far (within ``limits``): at once when more fit, by a moving average when
    fewer do (a busy moment should not halve the next chunk)."""

    def __init__(self, fixed: int | None, seconds: float, limits: tuple[int, int]) -> None:
        self.fixed = fixed is not None
        self.size = fixed if fixed is not None else CHUNK_SIZE
        self.seconds = seconds
        self.limits = limits
        self.sizes: list[int] = []

    def observe(self, entries: int, seconds: float) -> None:
        self.sizes.append(entries)
        if self.fixed or entries < self.size or seconds <= 0:
            return  # a short last chunk, or one skipped on resuming, says nothing
        fitting = entries * self.seconds / seconds
        low, high = self.limits
        # Growing at once: a file's first chunks are small (250 entries), and reaching the size
        # that fits by halves took a large file's first second.
        size = fitting if fitting > self.size else (self.size + fitting) / 2
        self.size = max(low, min(high, round(size)))


# --- one chunk -----------------------------------------------------------------------------------
#
# A chunk is read, matched and turned into rows outside any transaction; the transaction only
# executes the writes (and re-reads what it must lock), because on SQLite every lookup waits for
# the one connection while a transaction holds it.


@dataclass
class _Applied:
    tenant_codes: list[str]
    applied: int
    seconds: float  # how long its transaction lasted


@dataclass(slots=True)  # one per record of a file: slots make it smaller and quicker to build
class _Planned:
    """A record, and what to do with it: its decision when it is a new booked entry."""

    record: Record
    key: str | None = None  # booked entries: their identity
    duplicate: bool = False
    decision: matcher.Decision | None = None


async def _plan(
    records: Sequence[Record],
    bulk_payers: Sequence[payers.KnownBulkPayer],
    context: contextvars.Context | None = None,
) -> list[_Planned]:
    """Sort ``records`` out and match the new booked entries, reading only; in ``context``
    (:func:`regie.services.database.reading_beside`) when given.

    Done for more records than one transaction writes: the look-ups matching needs cost per query
    more than per entry. Deciding for the entries of several transactions at once decides as one
    after the other would (a declared payment or an original is given to one entry only), and
    what others write meanwhile is caught by the writes' conditions and keys (see _write).
    """
    if context is not None:
        return await asyncio.create_task(_sort_out(records, bulk_payers), context=context.copy())
    return await _sort_out(records, bulk_payers)


async def _sort_out(
    records: Sequence[Record], bulk_payers: Sequence[payers.KnownBulkPayer]
) -> list[_Planned]:
    planned = [_Planned(record) for record in records]
    # The booked entries as items, as entries and their keys: parallel lists filled in one pass
    # over the records, with no second pass and no cast per record (this runs for each of them).
    booked: list[_Planned] = []
    booked_entries: list[BankEntry] = []
    keys: list[str] = []
    for item in planned:
        record = item.record
        if isinstance(record, BankEntry) and record.status == "booked":
            item.key = key = entry_key(record.entry_id)
            booked.append(item)
            booked_entries.append(record)
            keys.append(key)
    existing = await _existing_keys(keys)
    fresh: list[_Planned] = []
    fresh_entries: list[BankEntry] = []
    seen: set[str] = set()
    for item, entry, key in zip(booked, booked_entries, keys, strict=True):
        if key in existing or key in seen:
            item.duplicate = True
        else:
            seen.add(key)
            fresh.append(item)
            fresh_entries.append(entry)
    decisions = await matcher.plan(fresh_entries, bulk_payers)
    for item, decision in zip(fresh, decisions, strict=True):
        item.decision = decision
    await asyncio.sleep(0)  # matching is CPU work: let requests run before the rows are built
    return planned


async def _apply_chunk(
    batch_id: int,
    owner: str,
    chunk: _Chunk,
    bulk_payers: Sequence[payers.KnownBulkPayer],
    *,
    planned_ahead: bool = False,
) -> _ChunkResult:
    """Write ``chunk`` in one transaction. Returns what it changed (None: nothing to tell), and
    how long the transaction lasted. ``planned_ahead``: matched while the chunk before it was
    being written, from what was committed before it."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            applied = await _try_chunk(owner, chunk, planned_ahead)
            break
        except _StalePlan:
            # The chunk before this one confirmed a declared payment this one was to confirm:
            # decide again from what is now committed, as if matched after it.
            planned_ahead = False
            chunk = await chunk.planned_again(bulk_payers)
        except IntegrityError:
            # Another importer applied some of these entries (or took the ids we reserved)
            # between our read and our write: nothing of ours was kept; decide again.
            if attempt == MAX_ATTEMPTS:
                raise
            await asyncio.sleep(0.05 * attempt)
            chunk = await chunk.planned_again(bulk_payers)
    if applied.applied == 0:
        return None, applied.seconds
    change = events.AccountsChanged(
        tenant_codes=tuple(applied.tenant_codes),
        reason="confirmation",
        channel=chunk.channel.value,
        applied=applied.applied,
        applied_at=now_utc().isoformat(),
        batch_id=batch_id,
    )
    return change, applied.seconds


class _Chunk:
    """What one transaction writes for a chunk of planned records: its counts, the rows of its
    decisions (:class:`_Rows`) and its rejected lines, all built before the transaction (while
    the chunk before it is being written)."""

    def __init__(
        self,
        batch_id: int,
        planned: Sequence[_Planned],
        channel: imports.ImportChannel,
        source: str,
        snapshot_cache: _SnapshotCache | None = None,
        audited: set[str] | None = None,
    ) -> None:
        self.batch_id = batch_id
        self.planned = planned
        self.channel = channel
        self.source = source
        self.audited = audited  # tenants the batch has audited (see _audit_accounts)
        counts = self.counts = Counts(read=len(planned))
        rejected: list[RejectedEntry] = []
        decisions: list[matcher.Decision] = []
        keys: list[str] = []
        for item in planned:
            record = item.record
            if isinstance(record, RejectedEntry):
                rejected.append(record)
            elif item.duplicate:
                counts.duplicates += 1
            elif item.decision is not None:
                decisions.append(item.decision)
                keys.append(cast(str, item.key))
            else:
                counts.pending += 1
        counts.rejected = len(rejected)
        self.now = now = now_utc()
        self.rows = _Rows(
            connections.get("default"), batch_id, decisions, keys, channel, source, now,
            snapshot_cache,
        )  # fmt: skip
        self.rejected_rows = [(batch_id, r.position[:120], r.reason[:500]) for r in rejected]
        counts.new = len(decisions)
        counts.credit_cents = sum(
            d.entry.amount_cents for d in decisions if d.entry.direction == "credit"
        )
        counts.matched = self.rows.written.matched
        counts.unmatched = self.rows.written.unmatched
        counts.ignored = self.rows.written.ignored

    async def planned_again(self, bulk_payers: Sequence[payers.KnownBulkPayer]) -> _Chunk:
        """The same records matched again from what is committed now."""
        planned = await _plan([item.record for item in self.planned], bulk_payers)
        return _Chunk(
            self.batch_id, planned, self.channel, self.source, self.rows.snapshot_cache,
            self.audited,
        )  # fmt: skip


async def _try_chunk(owner: str, chunk: _Chunk, planned_ahead: bool) -> _Applied:
    started = time.perf_counter()
    cache = chunk.rows.snapshot_cache
    try:
        written = None
        if cache is not None:  # the import's own SQLite connection
            written = await _write_in_one_call(owner, chunk, planned_ahead)
        if written is None:
            async with in_transaction("default") as connection:
                written = await _write_in_transaction(connection, owner, chunk, planned_ahead)
    except BaseException:
        if cache is not None:
            cache.rolled_back()
        raise
    if cache is not None:
        cache.committed()
    return _Applied(written.tenant_codes, written.matched, time.perf_counter() - started)


async def _write_in_transaction(
    connection: Any, owner: str, chunk: _Chunk, planned_ahead: bool
) -> _Written:
    batch_id, counts, rows, now = chunk.batch_id, chunk.counts, chunk.rows, chunk.now
    # The batch's counters first: a write as the first statement makes an SQLite transaction
    # take the write lock as it begins, so a commit by another connection (another process,
    # or this one's background writer) cannot make what it reads stale (SQLITE_BUSY_SNAPSHOT).
    if await _add_counts(connection, batch_id, owner, counts, now) != 1:
        raise LostOwnership()
    written = await _write(connection, rows, now, planned_ahead)
    change = _counts_change(counts, written)
    if change != Counts():  # rare: another writer rejected or confirmed a payment first
        await _add_counts(connection, batch_id, owner, change, now)
    await bulk.insert_many(connection, imports.RejectedLine, REJECTED_COLUMNS, chunk.rejected_rows)
    return written


async def _write_in_one_call(owner: str, chunk: _Chunk, planned_ahead: bool) -> _Written | None:
    """:func:`_write_in_transaction` in one call to the SQLite connection's thread, from BEGIN to
    COMMIT; None, with nothing written, for a chunk that needs more than SQL (a reversal, a
    lease without a snapshot yet), which goes the way of every database.

    The transaction's statements used to go to that thread one at a time, each then waiting for
    the event loop to send the next, while the loop was busy matching the next chunk: the
    connection stood idle for a third of each transaction. (It holds the connection's lock, as a
    transaction does: nothing else of this connection runs in between.)
    """
    rows = chunk.rows
    if any(decision.action is matcher.Action.REVERSE for decision in rows.decisions):
        return None
    client = connections.get("default")
    rejected_values = _statements("sqlite").rejected_lines.convert(chunk.rejected_rows)
    async with client.acquire_connection():
        done = await bulk.in_sqlite_thread(
            client,
            functools.partial(
                _chunk_in_sqlite_thread, owner, chunk, planned_ahead, rejected_values
            ),
        )
    if done is None:
        # Rolled back: its rows start again from the chunk's decisions (ids were given to them).
        rows.build({i for i, d in enumerate(rows.decisions) if d.declared_payment_id is not None})
        return None
    written, audited = done
    if chunk.audited is not None:
        chunk.audited.update(audited)  # committed with the chunk
    return written


def _chunk_in_sqlite_thread(
    owner: str,
    chunk: _Chunk,
    planned_ahead: bool,
    rejected_values: list[list[Any]],
    database: sqlite3.Connection,
) -> tuple[_Written, list[str]] | None:
    """The chunk's transaction, from BEGIN to COMMIT: what it wrote, and the tenants whose first
    change by the batch it audited (see _audit_accounts) in the same transaction."""
    batch_id, counts, rows, now = chunk.batch_id, chunk.counts, chunk.rows, chunk.now
    database.execute("BEGIN")
    try:
        # The batch's counters first, as in _write_in_transaction.
        sql, params = _counts_update(rows.connection, batch_id, owner, counts, now)
        if database.execute(sql, params).rowcount != 1:
            raise LostOwnership()
        declared = {i for i, d in enumerate(rows.decisions) if d.declared_payment_id is not None}
        confirmed = declared
        if declared:
            sql, params, ids = _declared_update(rows.connection, rows.decisions, declared)
            confirmed = {ids[row[0]] for row in database.execute(sql, params).fetchall()}
        if confirmed != declared:
            if planned_ahead:
                raise _StalePlan()
            rows.build(confirmed)
        if _write_rows_sqlite(rows, now, database):
            database.execute("ROLLBACK")  # a lease to sum up from its ledger: the ORM's way
            return None
        written = rows.written
        change = _counts_change(counts, written)
        if change != Counts():
            database.execute(*_counts_update(rows.connection, batch_id, owner, change, now))
        _statements("sqlite").rejected_lines.run_sqlite(database, rejected_values)
        audited: list[str] = []
        if chunk.audited is not None:
            # Not in a transaction of their own, four trips through the event loop that the
            # next chunk's write waited for.
            audited = _not_yet_audited(written.tenant_codes, chunk.audited)
            events = _account_events(chunk.source, chunk.channel, batch_id, audited)
            audit.append_in_sqlite_transaction(database, events)
        database.execute("COMMIT")
    except BaseException:
        if database.in_transaction:
            database.execute("ROLLBACK")
        raise
    return written, audited


def _counts_change(counts: Counts, written: _Written) -> Counts:
    """What the transaction wrote that the chunk's counts, worked out before it, did not expect
    (another writer rejected or confirmed a payment first)."""
    return Counts(
        matched=written.matched - counts.matched,
        unmatched=written.unmatched - counts.unmatched,
        ignored=written.ignored - counts.ignored,
    )


_COUNTERS = (
    ("records_done", "read"), ("read_count", "read"), ("new_count", "new"),
    ("duplicate_count", "duplicates"), ("matched_count", "matched"),
    ("unmatched_count", "unmatched"), ("ignored_count", "ignored"), ("pending_count", "pending"),
    ("rejected_count", "rejected"), ("total_credit_cents", "credit_cents"),
)  # fmt: skip


async def _add_counts(
    connection: Any, batch_id: int, owner: str, counts: Counts, now: datetime
) -> int:
    """Add a chunk's counts to its batch's, if this importer still owns it; returns the rows
    changed (0: the batch was taken over). Plain SQL: the queryset cost more than the update."""
    sql, params = _counts_update(connection, batch_id, owner, counts, now)
    updated, _ = await connection.execute_query(sql, params)
    return int(updated)


def _counts_update(
    connection: Any, batch_id: int, owner: str, counts: Counts, now: datetime
) -> tuple[str, list[Any]]:
    """The statement of :func:`_add_counts`, and its parameters."""
    mark = functools.partial(bulk.placeholder, connection)
    assignments = [
        f'"{column}" = "{column}" + {mark(i)}' for i, (column, _) in enumerate(_COUNTERS, 1)
    ]
    n = len(_COUNTERS)
    sql = (
        f'UPDATE "import_batch" SET {", ".join(assignments)}, "heartbeat_at" = {mark(n + 1)} '  # noqa: S608
        f'WHERE "id" = {mark(n + 2)} AND "owner" = {mark(n + 3)}'
    )
    params = [getattr(counts, name) for _, name in _COUNTERS] + [now, batch_id, owner]
    return sql, params


async def _existing_keys(keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` some batch already applied (one query, no queryset per chunk)."""
    if not keys:
        return set()
    connection = connections.get("default")
    condition, params = bulk.in_list(connection, keys, 1)
    rows = await bulk.fetch(
        connection,
        f'SELECT "entry_key" FROM "imported_entry" WHERE "entry_key" {condition}',  # noqa: S608
        params,
    )
    return {row[0] for row in rows}


@dataclass
class _Written:
    matched: int = 0
    unmatched: int = 0
    ignored: int = 0
    tenant_codes: list[str] = field(default_factory=list)


class _Rows:
    """The rows a chunk's decisions write, built before the transaction.

    Payment, identity and confirmation rows hold values exactly as Tortoise would bind them (enum
    values as their text, dates and aware datetimes as they are, texts cut to their columns'
    lengths), so they skip the per-value conversion that cost as much as their insert.
    New payments get their ids inside the transaction (:meth:`fill`); until then the identity and
    confirmation rows that point to one hold its rank among the new payments.
    """

    def __init__(
        self,
        connection: Any,
        batch_id: int,
        decisions: list[matcher.Decision],
        keys: list[str],
        channel: imports.ImportChannel,
        source: str,
        now: datetime,
        snapshot_cache: _SnapshotCache | None = None,
    ) -> None:
        self.connection = connection
        self.snapshot_cache = snapshot_cache
        self.batch_id = batch_id
        self.decisions = decisions
        self.keys = keys
        self.channel = channel
        self.source = source[:120]
        self.now = now
        self.build({i for i, d in enumerate(decisions) if d.declared_payment_id is not None})

    def build(self, declared: set[int]) -> None:
        """(Re)build every row, ``declared`` being the decisions that confirm a declared payment."""
        push = self.channel == imports.ImportChannel.PUSH
        confirmation_channel = (
            treasury.ConfirmationChannel.PUSH if push else treasury.ConfirmationChannel.FILE
        ).value
        payment_source = (
            ledger.PaymentSource.TREASURY_PUSH if push else ledger.PaymentSource.TREASURY_FILE
        ).value
        confirmed_status = ledger.PaymentStatus.CONFIRMED.value
        matched = imports.EntryOutcome.MATCHED.value
        confirm, reverse, ignore = (
            matcher.Action.CONFIRM,
            matcher.Action.REVERSE,
            matcher.Action.IGNORE,
        )
        today = self.now.date()
        # On SQLite, Tortoise's adapters turn each date and time into its ISO text as the database
        # thread binds it; a chunk has a few distinct ones, turned into the same text once here.
        on_sqlite = bulk.dialect(self.connection) == "sqlite"
        as_bound = _SqliteText() if on_sqlite else _as_is
        # SQLite stores a boolean as 1 or 0, and binds a bool through its adapter look-up (see
        # regie.db.config._null); PostgreSQL's boolean column takes a bool only.
        credit, debit = (1, 0) if on_sqlite else (True, False)
        recorded_at = as_bound(self.now)
        written = _Written()
        payments: list[list[Any]] = []
        identities: list[list[Any]] = []
        confirmations: list[list[Any]] = []
        queue: list[list[Any]] = []
        # (row, column, rank of the new payment) to fill once the payments have ids
        pending: list[tuple[list[Any], int, int]] = []
        # lease → [declared amount, new amount, paid on and rank of its latest new payment]
        by_lease: dict[int, list[Any]] = {}
        reversed_leases: set[int] = set()
        tenant_codes = written.tenant_codes
        # This loop runs once per entry of a file: what does not change from one entry to the
        # next is looked up once (an enum's .value is a descriptor call).
        method_values = {method: method.value for method in ledger.PaymentMethod}
        unmatched, ignored = (
            imports.EntryOutcome.UNMATCHED.value,
            imports.EntryOutcome.IGNORED.value,
        )
        source, batch_id = self.source, self.batch_id
        queue_row = _QueueRows(as_bound, recorded_at)
        for index, (decision, key) in enumerate(zip(self.decisions, self.keys, strict=True)):
            entry = decision.entry
            action = decision.action
            booked_on = entry.booking_date or entry.value_date
            booked_text = as_bound(booked_on)
            payment_id: int | None = None
            rank = -1
            if action is confirm:
                outcome = matched
                if booked_on is None:
                    paid_on, paid_text = today, as_bound(today)
                else:
                    paid_on, paid_text = booked_on, booked_text
                lease = by_lease.get(decision.lease_id or 0)
                if lease is None:
                    lease = by_lease[decision.lease_id or 0] = [0, 0, None, -1]
                if index in declared:
                    payment_id = decision.declared_payment_id
                    lease[0] += entry.amount_cents
                else:
                    rank = len(payments)
                    payments.append(
                        [None, decision.lease_id, entry.amount_cents,
                         method_values[decision.method], confirmed_status, payment_source,
                         paid_text, recorded_at]
                    )  # fmt: skip
                    lease[1] += entry.amount_cents
                    # The latest by (paid on, id): new payments of a lease take their ids in the
                    # order of (paid on, rank) (see fill), so the last rank of the latest day.
                    if lease[2] is None or paid_on >= lease[2]:
                        lease[2], lease[3] = paid_on, rank
                confirmation = [
                    payment_id, confirmation_channel, source, paid_text, recorded_at,
                    entry.entry_id[:140],
                ]  # fmt: skip
                confirmations.append(confirmation)
                if rank >= 0:
                    pending.append((confirmation, 0, rank))
            elif action is reverse:
                outcome = matched
                payment_id = decision.original_payment_id
                if decision.lease_id is not None:
                    reversed_leases.add(decision.lease_id)
            elif action is ignore:
                outcome = ignored
            else:
                outcome = unmatched
                queue.append(queue_row(batch_id, key, decision))
            if outcome is matched and decision.tenant_code:
                tenant_codes.append(decision.tenant_code)
            identity = [
                key, batch_id, outcome, credit if entry.direction == "credit" else debit,
                entry.amount_cents,
                booked_text, (entry.end_to_end_id or None) and entry.end_to_end_id[:140],
                payment_id,
            ]  # fmt: skip
            identities.append(identity)
            if rank >= 0:
                pending.append((identity, 7, rank))
        written.matched = len(confirmations) + sum(1 for d in self.decisions if d.action is reverse)
        written.ignored = sum(1 for d in self.decisions if d.action is ignore)
        written.unmatched = len(queue)
        # A lease whose payment is reversed is summed up again from its ledger.
        for lease_id in reversed_leases:
            by_lease.pop(lease_id, None)
        by_lease.pop(0, None)

        # The order the new payments take their ids in (see fill), worked out here, before the
        # transaction: (lease, paid on) of each (all dates, or all their texts).
        keys = [(row[1] or 0, row[6]) for row in payments]
        self._order = sorted(range(len(keys)), key=keys.__getitem__)
        statements = _statements(bulk.dialect(self.connection))
        self.payments, self.identities = statements.payments, statements.identities
        self.confirmations, self.queue = statements.confirmations, statements.queue
        self.payment_values = payments
        self.identity_values = identities
        self.confirmation_values = confirmations
        self.queue_values = queue
        self.pending = pending
        self.by_lease = by_lease
        self.reversed_leases = reversed_leases
        self.written = written

    def confirm_leases(self) -> list[int]:
        return sorted(self.by_lease)

    def fill(self, new_ids: Sequence[int]) -> list[int]:
        """Give the new payments, and the rows pointing to them, their reserved ids; returns the
        id of each new payment by rank.

        The payments take their ids, and are inserted, in the order of the payments' index by
        (lease, paid on): both the table and that index then take them in order, not here and
        there (a third of an import's inserting time).
        """
        order = self._order
        ids = [0] * len(order)
        for new_id, rank in zip(new_ids, order, strict=True):
            ids[rank] = self.payment_values[rank][0] = new_id
        self.payment_values = [self.payment_values[rank] for rank in order]
        for row, column, rank in self.pending:
            row[column] = ids[rank]
        return ids


def _as_is(value: Any) -> Any:
    return value


class _SqliteText:
    """Dates and aware times as the text Tortoise's SQLite adapters bind them as, each distinct
    value converted once."""

    def __init__(self) -> None:
        self._texts: dict[date, str] = {}

    def __call__(self, value: date | None) -> str | None:
        if value is None:
            return None
        text = self._texts.get(value)
        if text is None:
            text = self._texts[value] = (
                value.isoformat(" ") if isinstance(value, datetime) else value.isoformat()
            )
        return text


class _ChunkStatements(NamedTuple):
    payments: bulk.Insert
    identities: bulk.Insert
    confirmations: bulk.Insert
    queue: bulk.Insert
    snapshots: bulk.Update
    rejected_lines: bulk.Insert


@functools.cache
def _statements(dialect: str) -> _ChunkStatements:
    """The chunk's many-row statements, built once per dialect (the SQL text and converters)."""
    connection = connections.get("default")
    if bulk.dialect(connection) != dialect:  # pragma: no cover - one database per process
        raise RuntimeError(f"statements for {dialect} asked on a {bulk.dialect(connection)} one")
    return _ChunkStatements(
        bulk.Insert(connection, ledger.Payment, PAYMENT_COLUMNS),
        bulk.Insert(connection, imports.ImportedEntry, IDENTITY_COLUMNS),
        bulk.Insert(connection, treasury.Confirmation, CONFIRMATION_COLUMNS),
        bulk.Insert(connection, matching.UnmatchedItem, QUEUE_COLUMNS),
        bulk.Update(connection, ledger.AccountSnapshot, _Snapshots.COLUMNS),
        bulk.Insert(connection, imports.RejectedLine, REJECTED_COLUMNS),
    )


class _QueueRows:
    """Unmatched entries' queue rows, with values as Tortoise would bind them (as _Rows's)."""

    def __init__(self, as_bound: Callable[[Any], Any], created_at: Any) -> None:
        self.as_bound = as_bound
        self.created_at = created_at
        self.encode_suggestions = cast(
            Any, matching.UnmatchedItem._meta.fields_map["suggestions"]
        ).encoder
        self.open = matching.UnmatchedStatus.OPEN.value
        self.credit = matching.UnmatchedKind.CREDIT.value

    def __call__(self, batch_id: int, key: str, decision: matcher.Decision) -> list[Any]:
        entry = decision.entry
        remittance = " / ".join(
            part for part in (*entry.remittance, entry.entry_text or "") if part
        )
        kind, bulk_payer = decision.queue_kind, decision.bulk_payer
        return [
            batch_id,
            key,
            self.credit if kind is None else kind.value,
            self.open,
            entry.amount_cents,
            self.as_bound(entry.booking_date or entry.value_date),
            (entry.payer_name or None) and entry.payer_name[:140],
            decision.iban_fingerprint,
            payers.last4(entry.payer_iban) if entry.payer_iban else None,
            remittance[:500] or None,
            (entry.end_to_end_id or None) and entry.end_to_end_id[:140],
            None if bulk_payer is None else bulk_payer.value,
            decision.rule[:300] or "no reference names a tenant",
            self.encode_suggestions([s.as_json() for s in decision.suggestions]),
            self.created_at,
        ]


class _StalePlan(Exception):
    """A chunk matched ahead relied on a declared payment that is no longer declared."""


async def _write(connection: Any, rows: _Rows, now: datetime, planned_ahead: bool) -> _Written:
    """The ledger effects of the chunk's decisions and their identity rows, in the caller's
    transaction. Identity rows carry a UNIQUE key: a violation rolls the whole chunk back (another
    importer won), and the caller decides again; so does :class:`_StalePlan`."""
    declared = {i for i, d in enumerate(rows.decisions) if d.declared_payment_id is not None}
    changed = await _reject_reversed(rows.decisions, now)
    confirmed = await _confirm_declared(connection, rows.decisions, declared)
    if changed or confirmed != declared:
        if planned_ahead:
            raise _StalePlan()  # most likely the chunk before it: another declared may wait
        rows.build(confirmed)  # rare: another writer got to a payment first
    if bulk.dialect(connection) == "sqlite":
        # Every statement in one call to the connection's thread (see bulk.in_sqlite_thread).
        full = await bulk.in_sqlite_thread(
            connection, functools.partial(_write_rows_sqlite, rows, now)
        )
    else:
        full = await _write_rows(connection, rows, now)
    if full:
        await accounts.refresh_snapshots(sorted(full))
    return rows.written


async def _write_rows(connection: Any, rows: _Rows, now: datetime) -> set[int]:
    """The chunk's inserts and snapshot updates; returns the leases whose snapshots must be
    summed up again from their ledger (a payment reversed, or no snapshot yet)."""
    reserved = await bulk.reserve_ids(connection, ledger.Payment, len(rows.payment_values))
    new_ids = rows.fill(reserved)
    await rows.payments.execute(connection, rows.payment_values)
    await rows.identities.execute(connection, rows.identity_values)
    await rows.queue.execute(connection, rows.queue_values)
    await rows.confirmations.execute(connection, rows.confirmation_values)
    snapshots = _Snapshots(connection, now)
    lease_ids = rows.confirm_leases()
    if not lease_ids:
        return set(rows.reversed_leases)
    sql, params = snapshots.query(connection, lease_ids)
    found = await bulk.fetch(connection, sql, params)
    values, _ = snapshots.rows(found, rows, new_ids)
    await snapshots.update.execute(connection, values)
    return snapshots.not_found(found, rows)


def _write_rows_sqlite(rows: _Rows, now: datetime, database: sqlite3.Connection) -> set[int]:
    """:func:`_write_rows` on SQLite, in the connection's thread (bulk.in_sqlite_thread)."""
    reserved = bulk.reserve_sqlite_ids(database, ledger.Payment, len(rows.payment_values))
    new_ids = rows.fill(reserved)
    rows.payments.run_sqlite(database, rows.payment_values)
    rows.identities.run_sqlite(database, rows.identity_values)
    rows.queue.run_sqlite(database, rows.queue_values)
    rows.confirmations.run_sqlite(database, rows.confirmation_values)
    snapshots = _Snapshots(rows.connection, now)
    lease_ids = rows.confirm_leases()
    cache = rows.snapshot_cache
    if cache is not None:
        found = cache.read(database, rows.connection, lease_ids)
    elif lease_ids:
        sql, params = snapshots.query(rows.connection, lease_ids)
        found = database.execute(sql, params).fetchall()
    else:
        found = []
    values, after = snapshots.rows(found, rows, new_ids)
    if values:
        snapshots.update.run_sqlite(database, values)
    full = snapshots.not_found(found, rows)
    if cache is not None:
        cache.wrote(after, full)
    return full


async def _reject_reversed(decisions: list[matcher.Decision], now: datetime) -> bool:
    """Returns reject their original once (a conditional update, safe under concurrency). True when
    one could not, and was turned into a queue item instead."""
    changed = False
    for decision in decisions:
        if decision.action != matcher.Action.REVERSE:
            continue
        entry = decision.entry
        reason = (
            f"returned ({entry.return_reason})" if entry.return_reason else "reversed by the bank"
        )
        done = (
            await ledger.Payment.filter(id=decision.original_payment_id)
            .exclude(status=ledger.PaymentStatus.REJECTED)
            .update(status=ledger.PaymentStatus.REJECTED, rejected_at=now, rejection_reason=reason)
        )
        if done != 1 or decision.lease_id is None:
            decision.action = matcher.Action.QUEUE
            decision.queue_kind = matching.UnmatchedKind.REVERSAL
            decision.rule = "the original payment was already reversed"
            decision.original_payment_id = None
            changed = True
    return changed


async def _confirm_declared(
    connection: Any, decisions: list[matcher.Decision], declared: set[int]
) -> set[int]:
    """Confirm the declared payments ``declared`` (decision indexes) point to, each once whatever
    else runs (a conditional update); returns the decisions whose payment this one confirmed."""
    if not declared:
        return set()
    sql, params, ids = _declared_update(connection, decisions, declared)
    # execute_query_dict: the PostgreSQL client returns no rows from execute_query for an UPDATE.
    done = await connection.execute_query_dict(sql, params)
    return {ids[row["id"]] for row in done}


def _declared_update(
    connection: Any, decisions: list[matcher.Decision], declared: set[int]
) -> tuple[str, list[Any], dict[Any, int]]:
    """The statement of :func:`_confirm_declared`, its parameters, and the decision index of each
    payment id it returns."""
    ids = {decisions[i].declared_payment_id: i for i in declared}
    condition, params = bulk.in_list(connection, list(ids), 3)
    marks = bulk.placeholder(connection, 1), bulk.placeholder(connection, 2)
    sql = (
        f'UPDATE "payment" SET "status" = {marks[0]} '  # noqa: S608
        f'WHERE "status" = {marks[1]} AND "id" {condition} RETURNING "id"'
    )
    return (
        sql,
        [ledger.PaymentStatus.CONFIRMED.value, ledger.PaymentStatus.DECLARED.value, *params],
        ids,
    )


# --- account snapshots ---------------------------------------------------------------------------


class _Snapshots:
    """The new figures of the snapshots a chunk's confirmations change, by the rules of
    services.accounts, from the rows read (and on PostgreSQL locked) inside the transaction.

    A chunk touches thousands of snapshots, most of whose texts repeat (the "as of" time of the
    previous chunk, an account with nothing left to settle): each distinct text is decoded, and
    each distinct list of open charges settled and encoded, once. Open charges stay as stored
    (the due day's ISO text, the unpaid cents): settling needs their order and amounts only.
    """

    COLUMNS = ("confirmed_cents", "declared_cents", "open_charges", "last_payment_id", "as_of",
               "updated_at")  # fmt: skip

    def __init__(self, connection: Any, now: datetime) -> None:
        self.now = now
        self.update = _statements(bulk.dialect(connection)).snapshots
        fields = ledger.AccountSnapshot._meta.fields_map
        self._decode_charges = fields["open_charges"].to_python_value
        self._encode_charges = cast(Any, fields["open_charges"]).encoder
        self._decode_moment = fields["as_of"].to_python_value
        self._unpaid: dict[str, tuple[tuple[str, int], ...]] = {}
        self._settled: dict[tuple[str, int], str] = {}
        self._moments: dict[Any, Any] = {}
        self._days: dict[str, date] = {}
        # Times bound as text once each, as the chunk's other rows (see _SqliteText).
        self._as_bound = _SqliteText() if bulk.dialect(connection) == "sqlite" else _as_is
        self._now_bound = self._as_bound(now)

    def _open_charges_after(self, stored: Any, amount_cents: int) -> str:
        """The stored open charges once ``amount_cents`` more is confirmed, as stored."""
        # Already decoded by the driver (PostgreSQL), or the text SQLite keeps.
        raw: str = stored if isinstance(stored, str) else self._encode_charges(stored)
        unpaid = self._unpaid.get(raw)
        if unpaid is None:
            unpaid = self._unpaid[raw] = tuple(
                (due, int(cents)) for due, cents in self._decode_charges(raw)
            )
        if not unpaid:
            return raw  # nothing open (most accounts, after a file's first chunks): as stored
        text = self._settled.get((raw, amount_cents))
        if text is None:
            left = accounts.settle_oldest_first(unpaid, amount_cents)
            text = self._settled[raw, amount_cents] = self._encode_charges([list(c) for c in left])
        return text

    def _moment(self, raw: Any) -> datetime | None:
        if raw not in self._moments:
            self._moments[raw] = self._decode_moment(raw)
        return cast(datetime | None, self._moments[raw])

    def _day(self, raw: Any) -> date | None:
        if not isinstance(raw, str):
            return cast(date | None, raw)
        day = self._days.get(raw)
        if day is None:
            day = self._days[raw] = date.fromisoformat(raw)
        return day

    @staticmethod
    def query(connection: Any, lease_ids: Sequence[int]) -> tuple[str, list[Any]]:
        """The statement reading the snapshots of ``lease_ids`` (in the chunk's transaction) with
        the day of each one's last payment, and its parameters."""
        condition, params = bulk.in_list(connection, lease_ids, 1)
        columns = ", ".join(f's."{name}"' for name in SNAPSHOT_COLUMNS)
        sql = (
            f'SELECT {columns}, p."paid_on" FROM "account_snapshot" s '  # noqa: S608
            f'LEFT JOIN "payment" p ON p."id" = s."last_payment_id" '
            f'WHERE s."lease_id" {condition} ORDER BY s."lease_id"'
        )
        if bulk.dialect(connection) == "postgres":
            sql += " FOR UPDATE OF s"  # concurrent importers update these rows one after the other
        return sql, params

    def rows(
        self, found: Sequence[Sequence[Any]], rows: _Rows, new_ids: Sequence[int]
    ) -> tuple[list[list[Any]], dict[int, tuple[Any, ...]]]:
        """The update's values for the snapshots ``found`` by :meth:`query`, and each one's new
        state as :meth:`query` would read it after the update, by lease."""
        values: list[list[Any]] = []
        after: dict[int, tuple[Any, ...]] = {}
        for row in found:
            lease_id = row[1]
            update, paid_on = self.row(row, rows.by_lease[lease_id], new_ids)
            values.append(update)
            snapshot_id, confirmed, declared, charges, last, as_of = (
                update[6], update[0], update[1], update[2], update[3], update[4]
            )  # fmt: skip
            after[lease_id] = (snapshot_id, lease_id, confirmed, declared, charges, last, as_of,
                               paid_on)  # fmt: skip
        return values, after

    @staticmethod
    def not_found(found: Sequence[Sequence[Any]], rows: _Rows) -> set[int]:
        """The leases to sum up from their ledger: a payment reversed, or no snapshot yet."""
        seen = {row[1] for row in found}
        missing = {lease_id for lease_id in rows.confirm_leases() if lease_id not in seen}
        return missing | rows.reversed_leases

    def row(
        self, row: Sequence[Any], confirmed: list[Any], new_ids: Sequence[int]
    ) -> tuple[list[Any], date | None]:
        """The values of COLUMNS (then the id) of snapshot ``row`` after the confirmations
        ``confirmed`` (declared amount, new amount, paid on and rank of the latest new payment),
        and the day of its last payment then. Settling at once what several payments settle in turn leaves
        the same charges open: each payment continues where the previous one stopped
        (accounts.settle_oldest_first)."""
        snapshot_id, _, confirmed_cents, declared, charges, last, as_of, paid_on = row
        declared_amount, new_amount, latest_paid, latest_rank = confirmed
        # The latest payment by (paid on, id), the new ones included.
        paid_on = self._day(paid_on)
        last_key = (paid_on, last) if last is not None and paid_on is not None else None
        if latest_paid is not None:
            key = (latest_paid, new_ids[latest_rank])
            if last_key is None or key > last_key:
                last_key = key
        moment = self._moment(as_of)
        return [
            confirmed_cents + declared_amount + new_amount,
            declared - declared_amount,
            self._open_charges_after(charges, declared_amount + new_amount),
            last_key[1] if last_key else None,
            self._now_bound if moment is None or moment <= self.now else self._as_bound(moment),
            self._now_bound,
            snapshot_id,
        ], last_key[0] if last_key else None


class _SnapshotCache:
    """The account snapshots a file's import last wrote, so that its next chunk need not read
    them again (SQLite, on the import's own connection only).

    A chunk touches most of the office's snapshots, and reading them back cost each transaction
    as much as a table of its inserts. SQLite tells a connection whether any other connection
    committed since it last asked (``PRAGMA data_version``; its own commits do not count). Asked
    inside the chunk's transaction, which already holds the write lock, the same number as last
    time means the database holds what the import's own commits left: the snapshots as it
    wrote them. Any other number (a push, a payment typed at the office, another import, in any
    table) and everything is read again. A chunk's snapshots are remembered once its
    transaction has committed; a rollback forgets everything. Leases summed up again from their
    ledger (a reversal, a missing snapshot) are read again next time.

    On a connection shared with requests their commits would not show: there is no cache there.
    """

    def __init__(self) -> None:
        self._rows: dict[
            int, Sequence[Any]
        ] = {}  # lease id → its row, as _Snapshots.query reads it
        self._version: int | None = None
        self._seen: int | None = None  # the data version the transaction under way read
        self._written: dict[int, tuple[Any, ...]] = {}
        self._dropped: set[int] = set()

    def read(
        self, database: sqlite3.Connection, connection: Any, lease_ids: Sequence[int]
    ) -> list[Sequence[Any]]:
        """The snapshots of ``lease_ids`` as :meth:`_Snapshots.query` reads them, in the same
        order; in the transaction that updates them (bulk.in_sqlite_thread)."""
        (version,) = database.execute("PRAGMA data_version").fetchone()
        if version != self._version:
            self._rows.clear()  # somebody else wrote: nothing remembered can be trusted
        self._seen, self._written, self._dropped = version, {}, set()
        known = self._rows
        missing = [lease_id for lease_id in lease_ids if lease_id not in known]
        if not missing:
            return [known[lease_id] for lease_id in lease_ids]
        sql, params = _Snapshots.query(connection, missing)
        fetched = {row[1]: row for row in database.execute(sql, params).fetchall()}
        found: list[Sequence[Any]] = []
        for lease_id in lease_ids:
            row = known.get(lease_id) or fetched.get(lease_id)
            if row is not None:
                found.append(row)
        return found

    def wrote(self, after: dict[int, tuple[Any, ...]], dropped: set[int]) -> None:
        """What the transaction under way wrote: snapshots ``after``, and ``dropped`` ones it
        sums up again from their ledger."""
        self._written, self._dropped = after, dropped

    def committed(self) -> None:
        if self._seen is None:  # nothing read in that transaction: nothing to vouch for
            self.rolled_back()
            return
        self._rows.update(self._written)
        for lease_id in self._dropped:
            self._rows.pop(lease_id, None)
        self._version, self._seen, self._written, self._dropped = self._seen, None, {}, set()

    def rolled_back(self) -> None:
        self._rows.clear()
        self._version = self._seen = None
        self._written, self._dropped = {}, set()


__all__ = [
    "CHUNK_SIZE",
    "Counts",
    "ImportReport",
    "ImportRequest",
    "Outcome",
    "RecordSource",
    "entry_key",
    "run_import",
]
