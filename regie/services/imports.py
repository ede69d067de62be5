"""Applying confirmations (a bank file's entries, or a push delivery) exactly once.

A delivery is one :class:`~regie.db.imports.ImportBatch`, unique by channel and message key:

- the same content again → ``ALREADY_IMPORTED``, nothing changes;
- the same message key with other content → ``CONFLICT``, nothing is merged;
- a batch left ``running`` by a killed importer is resumed by the next run; one whose importer is
  still alive (same host and a live process, or progress in the last minute) → ``IN_PROGRESS``.

Entries are applied in chunks of a few hundred, each in one short transaction that inserts the
entries' identity rows (UNIQUE ``entry_key``) together with their ledger effects, the queue
items, the rejected lines, the account snapshots and the batch's counters. A crash therefore
leaves every entry wholly applied or not at all, and the counters agree with what was applied;
an entry already applied by any batch counts as a duplicate. Live updates are published after
each chunk commits.

Pending and information-only entries (camt ``PDNG``/``INFO``) are counted and not applied; they
leave no identity row, so the booked entry that follows is applied.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from regie.db import imports, ledger, matching, treasury
from regie.services import accounts, audit, bulk, events, payers
from regie.services import matching as matcher
from regie.services.clock import now_utc
from regie.treasury.records import BankEntry, RejectedEntry

logger = logging.getLogger("regie.imports")

CHUNK_SIZE = 200
STALE_AFTER = timedelta(seconds=60)
"""An importer that made no progress for this long is presumed dead; its batch may be resumed."""
MAX_ATTEMPTS = 5
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
    "id", "lease_id", "charged_cents", "confirmed_cents", "declared_cents", "open_charges",
    "last_charge_id", "last_payment_id", "as_of",
)  # fmt: skip

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


async def run_import(
    request: ImportRequest,
    records: Iterable[Record],
    *,
    expected_records: int = 0,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
    reader: Executor | None = None,
) -> ImportReport:
    """Apply ``records`` as the batch ``request`` describes; see the module docstring."""
    owner = _owner_token()
    batch, refusal, resumed = await _claim(request, owner)
    if refusal is not None:
        return await _refused_report(batch, refusal)

    skip = batch.records_done
    iterator = iter(records)
    position = 0
    bulk_payers = await matcher.registered_bulk_payers()
    try:
        while True:
            chunk = await _next_chunk(iterator, chunk_size, reader)
            if not chunk:
                break
            start = position
            position += len(chunk)
            if position <= skip:
                continue  # applied before the interruption
            if start < skip:
                chunk = chunk[skip - start :]
            change = await _apply_chunk(
                batch.id, owner, chunk, request.channel, request.source, bulk_payers
            )
            if change is not None:
                await _audit_accounts(request, change)
                await events.publish_accounts_changed(change)
            if progress is not None:
                progress(position, max(expected_records, position))
        now = now_utc()
        await imports.ImportBatch.filter(id=batch.id, owner=owner).update(
            status=imports.ImportStatus.DONE, finished_at=now, heartbeat_at=now, owner=""
        )
    except LostOwnership:
        return ImportReport(
            Outcome.IN_PROGRESS,
            "Another importer took this file over; it is completing it.",
            batch.id,
        )
    except BaseException:
        # Free the batch at once so a re-run resumes it without waiting for it to look stale.
        try:
            await asyncio.shield(
                imports.ImportBatch.filter(id=batch.id, owner=owner).update(owner="")
            )
        except Exception:  # the database itself may be what failed
            logger.warning("could not release import batch %s", batch.id)
        raise
    await batch.refresh_from_db()
    report = ImportReport(
        Outcome.IMPORTED,
        "Imported (resumed after an interruption)." if resumed else "Imported.",
        batch.id,
        Counts.of(batch),
        await rejected_lines(batch.id),
        resumed=resumed,
    )
    await _audit(request, report)
    return report


async def _audit_accounts(request: ImportRequest, change: events.AccountsChanged) -> None:
    """One audit event per tenant whose account a chunk changed: every write names its tenant."""
    at = now_utc()
    await audit.append(
        [
            audit.Event(
                at=at,
                actor=request.source,
                surface=request.channel.value,
                action=f"treasury.{change.reason}",
                tenant_code=code,
                outcome=audit.OK,
                detail=f"batch {change.batch_id}",
            )
            for code in change.tenant_codes
        ]
    )


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


async def _next_chunk(
    iterator: Iterator[Record], size: int, reader: Executor | None
) -> list[Record]:
    def take() -> list[Record]:
        return list(itertools.islice(iterator, size))

    if reader is None:
        return take()
    # Parsing is CPU work: in a thread, lookups served by the same event loop are not held up.
    # Always the same thread (a one-worker executor): lxml parsers must not change threads.
    return await asyncio.get_running_loop().run_in_executor(reader, take)


# --- one chunk -----------------------------------------------------------------------------------


@dataclass
class _Applied:
    counts: Counts
    tenant_codes: list[str]
    applied: int


async def _apply_chunk(
    batch_id: int,
    owner: str,
    records: Sequence[Record],
    channel: imports.ImportChannel,
    source: str,
    bulk_payers: Sequence[payers.KnownBulkPayer],
) -> events.AccountsChanged | None:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            applied = await _try_chunk(batch_id, owner, records, channel, source, bulk_payers)
            break
        except IntegrityError:
            # Another importer applied some of these entries (or took the ids we reserved)
            # between our read and our write: nothing of ours was kept; decide again.
            if attempt == MAX_ATTEMPTS:
                raise
            await asyncio.sleep(0.05 * attempt)
    if applied.applied == 0:
        return None
    return events.AccountsChanged(
        tenant_codes=tuple(applied.tenant_codes),
        reason="confirmation",
        channel=channel.value,
        applied=applied.applied,
        applied_at=now_utc().isoformat(),
        batch_id=batch_id,
    )


async def _try_chunk(
    batch_id: int,
    owner: str,
    records: Sequence[Record],
    channel: imports.ImportChannel,
    source: str,
    bulk_payers: Sequence[payers.KnownBulkPayer],
) -> _Applied:
    counts = Counts(read=len(records))
    rejected = [r for r in records if isinstance(r, RejectedEntry)]
    entries = [r for r in records if isinstance(r, BankEntry)]
    booked = [e for e in entries if e.status == "booked"]
    counts.pending = len(entries) - len(booked)
    counts.rejected = len(rejected)

    keys = [entry_key(e.entry_id) for e in booked]
    existing = set(
        cast(
            list[str],
            await imports.ImportedEntry.filter(entry_key__in=keys).values_list(
                "entry_key", flat=True
            ),
        )
    )
    fresh: list[BankEntry] = []
    seen: set[str] = set()
    for entry, key in zip(booked, keys, strict=True):
        if key in existing or key in seen:
            counts.duplicates += 1
        else:
            seen.add(key)
            fresh.append(entry)
    decisions = await matcher.plan(fresh, bulk_payers)

    now = now_utc()
    async with in_transaction() as connection:
        written = await _write(connection, batch_id, decisions, channel, source, now)
        counts.new = len(decisions)
        counts.matched = written.matched
        counts.unmatched = written.unmatched
        counts.ignored = written.ignored
        counts.credit_cents = sum(
            d.entry.amount_cents for d in decisions if d.entry.direction == "credit"
        )
        if rejected:
            await imports.RejectedLine.bulk_create(
                [
                    imports.RejectedLine(
                        batch_id=batch_id, position=r.position[:120], reason=r.reason[:500]
                    )
                    for r in rejected
                ]
            )
        updated = await imports.ImportBatch.filter(id=batch_id, owner=owner).update(
            records_done=F("records_done") + counts.read,
            read_count=F("read_count") + counts.read,
            new_count=F("new_count") + counts.new,
            duplicate_count=F("duplicate_count") + counts.duplicates,
            matched_count=F("matched_count") + counts.matched,
            unmatched_count=F("unmatched_count") + counts.unmatched,
            ignored_count=F("ignored_count") + counts.ignored,
            pending_count=F("pending_count") + counts.pending,
            rejected_count=F("rejected_count") + counts.rejected,
            total_credit_cents=F("total_credit_cents") + counts.credit_cents,
            heartbeat_at=now,
        )
        if updated != 1:
            raise LostOwnership()
    return _Applied(counts, written.tenant_codes, written.matched)


@dataclass
class _Written:
    matched: int = 0
    unmatched: int = 0
    ignored: int = 0
    tenant_codes: list[str] = field(default_factory=list)


async def _write(
    connection: Any,
    batch_id: int,
    decisions: list[matcher.Decision],
    channel: imports.ImportChannel,
    source: str,
    now: datetime,
) -> _Written:
    """The ledger effects of ``decisions`` and their identity rows, in the caller's transaction."""
    written = _Written()
    confirmation_channel = (
        treasury.ConfirmationChannel.PUSH
        if channel == imports.ImportChannel.PUSH
        else treasury.ConfirmationChannel.FILE
    )
    payment_source = (
        ledger.PaymentSource.TREASURY_PUSH
        if channel == imports.ImportChannel.PUSH
        else ledger.PaymentSource.TREASURY_FILE
    )

    # Returns: reject their original once (a conditional update, safe under concurrency).
    reversed_leases: set[int] = set()
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
        if done == 1 and decision.lease_id is not None:
            reversed_leases.add(decision.lease_id)
        else:
            decision.action = matcher.Action.QUEUE
            decision.queue_kind = matching.UnmatchedKind.REVERSAL
            decision.rule = "the original payment was already reversed"
            decision.original_payment_id = None

    # Confirmations of declared payments (conditional: a payment is confirmed once).
    confirming = [d for d in decisions if d.action == matcher.Action.CONFIRM]
    confirmed_declared: dict[int, int] = {}  # id(decision) → payment id
    for decision in confirming:
        if decision.declared_payment_id is None:
            continue
        done = await ledger.Payment.filter(
            id=decision.declared_payment_id, status=ledger.PaymentStatus.DECLARED
        ).update(status=ledger.PaymentStatus.CONFIRMED)
        if done == 1:
            confirmed_declared[id(decision)] = decision.declared_payment_id

    creating = [d for d in confirming if id(d) not in confirmed_declared]
    new_ids = await bulk.reserve_ids(connection, ledger.Payment, len(creating))
    payment_of: dict[int, int] = dict(confirmed_declared)
    payment_rows: list[tuple[Any, ...]] = []
    for decision, new_id in zip(creating, new_ids, strict=True):
        entry = decision.entry
        payment_of[id(decision)] = new_id
        payment_rows.append(
            (
                new_id,
                decision.lease_id,
                entry.amount_cents,
                decision.method,
                ledger.PaymentStatus.CONFIRMED,
                payment_source,
                entry.booking_date or entry.value_date or now.date(),
                now,
            )
        )
    await bulk.insert_many(connection, ledger.Payment, PAYMENT_COLUMNS, payment_rows)

    # Identity rows: a UNIQUE violation here rolls the whole chunk back (another importer won).
    identity_rows: list[tuple[Any, ...]] = []
    queue: list[matching.UnmatchedItem] = []
    for decision in decisions:
        entry = decision.entry
        key = entry_key(entry.entry_id)
        outcome = imports.EntryOutcome.MATCHED
        payment_id: int | None = None
        if decision.action == matcher.Action.CONFIRM:
            payment_id = payment_of[id(decision)]
            written.matched += 1
        elif decision.action == matcher.Action.REVERSE:
            payment_id = decision.original_payment_id
            written.matched += 1
        elif decision.action == matcher.Action.IGNORE:
            outcome = imports.EntryOutcome.IGNORED
            written.ignored += 1
        else:
            outcome = imports.EntryOutcome.UNMATCHED
            written.unmatched += 1
            queue.append(_queue_item(batch_id, key, decision, now))
        if decision.tenant_code and outcome == imports.EntryOutcome.MATCHED:
            written.tenant_codes.append(decision.tenant_code)
        identity_rows.append(
            (
                key,
                batch_id,
                outcome,
                entry.direction == "credit",
                entry.amount_cents,
                entry.booking_date or entry.value_date,
                (entry.end_to_end_id or None) and entry.end_to_end_id[:140],
                payment_id,
            )
        )
    await bulk.insert_many(connection, imports.ImportedEntry, IDENTITY_COLUMNS, identity_rows)
    if queue:
        await matching.UnmatchedItem.bulk_create(queue)

    confirmation_rows = [
        (
            payment_of[id(d)],
            confirmation_channel,
            source[:120],
            d.entry.booking_date or d.entry.value_date or now.date(),
            now,
            d.entry.entry_id[:140],
        )
        for d in confirming
    ]
    await bulk.insert_many(
        connection, treasury.Confirmation, CONFIRMATION_COLUMNS, confirmation_rows
    )

    await _update_snapshots(
        connection, confirming, payment_of, confirmed_declared, reversed_leases, now
    )
    return written


def _queue_item(
    batch_id: int, key: str, decision: matcher.Decision, now: datetime
) -> matching.UnmatchedItem:
    entry = decision.entry
    remittance = " / ".join(part for part in (*entry.remittance, entry.entry_text or "") if part)
    return matching.UnmatchedItem(
        batch_id=batch_id,
        entry_key=key,
        kind=decision.queue_kind or matching.UnmatchedKind.CREDIT,
        status=matching.UnmatchedStatus.OPEN,
        amount_cents=entry.amount_cents,
        booked_on=entry.booking_date or entry.value_date,
        payer_name=(entry.payer_name or None) and entry.payer_name[:140],
        payer_iban_fingerprint=decision.iban_fingerprint,
        payer_iban_last4=payers.last4(entry.payer_iban) if entry.payer_iban else None,
        remittance=remittance[:500] or None,
        end_to_end_id=(entry.end_to_end_id or None) and entry.end_to_end_id[:140],
        bulk_payer=decision.bulk_payer,
        reason=decision.rule[:300] or "no reference names a tenant",
        suggestions=[s.as_json() for s in decision.suggestions],
        created_at=now,
    )


async def _update_snapshots(
    connection: Any,
    confirming: list[matcher.Decision],
    payment_of: dict[int, int],
    confirmed_declared: dict[int, int],
    reversed_leases: set[int],
    now: datetime,
) -> None:
    """Each touched lease's snapshot: incrementally for confirmations, from the ledger otherwise."""
    by_lease: dict[int, list[matcher.Decision]] = defaultdict(list)
    for decision in confirming:
        if decision.lease_id is not None and decision.lease_id not in reversed_leases:
            by_lease[decision.lease_id].append(decision)
    full = set(reversed_leases)
    if by_lease:
        snapshots = {
            row[1]: row
            for row in await ledger.AccountSnapshot.filter(lease_id__in=sorted(by_lease))
            .select_for_update()
            .order_by("lease_id")
            .values_list(*SNAPSHOT_COLUMNS)
        }
        full.update(lease_id for lease_id in by_lease if lease_id not in snapshots)
        last_ids = [row[7] for row in snapshots.values() if row[7] is not None]
        last_paid = (
            dict(await ledger.Payment.filter(id__in=last_ids).values_list("id", "paid_on"))
            if last_ids
            else {}
        )
        rows: list[tuple[Any, ...]] = []
        for lease_id, decisions in by_lease.items():
            snapshot = snapshots.get(lease_id)
            if snapshot is None:
                continue
            snapshot_id, _, charged, confirmed, declared, open_charges, last_charge, last, as_of = (
                snapshot
            )
            summary = accounts.LedgerSummary(
                charged_cents=charged,
                confirmed_cents=confirmed,
                declared_cents=declared,
                open_charges=tuple(
                    accounts.OpenCharge(date.fromisoformat(due), int(unpaid))
                    for due, unpaid in open_charges
                ),
                last_charge_id=last_charge,
                last_payment_id=last,
                as_of=as_of,
            )
            last_key = (last_paid[last], last) if last is not None and last in last_paid else None
            for decision in decisions:
                payment_id = payment_of[id(decision)]
                was_declared = id(decision) in confirmed_declared
                if not was_declared:
                    key = (
                        decision.entry.booking_date or decision.entry.value_date or now.date(),
                        payment_id,
                    )
                    if last_key is None or key > last_key:
                        last_key = key
                summary = accounts.with_confirmed_payment(
                    summary,
                    decision.entry.amount_cents,
                    was_declared=was_declared,
                    applied_at=now,
                    last_payment_id=last_key[1] if last_key else None,
                )
            values = accounts.snapshot_fields(summary)
            rows.append(
                (
                    values["confirmed_cents"],
                    values["declared_cents"],
                    values["open_charges"],
                    values["last_payment_id"],
                    values["as_of"],
                    now,
                    snapshot_id,
                )
            )
        await bulk.update_many(
            connection,
            ledger.AccountSnapshot,
            [
                "confirmed_cents",
                "declared_cents",
                "open_charges",
                "last_payment_id",
                "as_of",
                "updated_at",
            ],
            rows,
        )
    if full:
        await accounts.refresh_snapshots(sorted(full))


__all__ = [
    "CHUNK_SIZE",
    "Counts",
    "ImportReport",
    "ImportRequest",
    "Outcome",
    "entry_key",
    "run_import",
]
