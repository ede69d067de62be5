"""A bank file is imported on a connection of its own: lookups never wait for its transactions."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from datetime import date
from typing import Any

import pytest
from tortoise import connections

from regie.db import imports as imports_db
from regie.db import ledger, tenants
from regie.db.imports import ImportChannel
from regie.services import accounts, database
from regie.services import imports as import_service
from regie.services.imports import Outcome
from regie.treasury.importer import import_file
from regie.treasury.push import parse_confirmations
from tests import factories
from tests.conftest import TEST_DATABASE
from tests.treasury.bankfiles import Tx, camt054


def _file(count: int, message_id: str = "OWN") -> bytes:
    return camt054(
        [Tx("1.00", f"{message_id}-{i:04d}", ustrd=("LOC 1004300",)) for i in range(count)],
        message_id=message_id,
    )


async def _lease() -> Any:
    _, lease = await factories.tenant_with_lease("Martin", code="1004300")
    await factories.bill(lease, date(2026, 3, 1))
    return lease


def _by_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks written the way of every database (a transaction whose statements go one by one to
    the connection), not in one call to SQLite's thread: a test can hold that transaction open
    between two statements. (Reversals take that way on SQLite files too.)"""

    async def general_path(*args: Any) -> None:
        return None

    monkeypatch.setattr(import_service, "_write_in_one_call", general_path)


def _held_after_first_call(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> tuple[asyncio.Event, asyncio.Event]:
    """The import service's ``name`` waits once its first call is done: ``reached`` is set
    then, and that call returns once ``go_on`` is set."""
    reached, go_on = asyncio.Event(), asyncio.Event()
    original = getattr(import_service, name)

    async def held(*args: Any) -> Any:
        done = await original(*args)
        if not reached.is_set():
            reached.set()
            await go_on.wait()
        return done

    monkeypatch.setattr(import_service, name, held)
    return reached, go_on


def _first_write_held_open(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """The first chunk written holds its transaction open: ``inside`` is set once its rows are
    written (not committed), and it commits once ``go_on`` is set."""
    _by_the_general_path(monkeypatch)
    return _held_after_first_call(monkeypatch, "_write")


@pytest.mark.usefixtures("sqlite_file")
async def test_a_lookup_answers_while_an_import_transaction_is_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lease = await _lease()
    inside, go_on = _first_write_held_open(monkeypatch)
    importing = asyncio.create_task(import_file(_file(10), source="t"))
    await asyncio.wait_for(inside.wait(), 5)
    # The default connection answers at once, with the state before the open transaction.
    paid = await asyncio.wait_for(ledger.Payment.filter(lease_id=lease.id).count(), 1)
    assert paid == 0
    assert await asyncio.wait_for(tenants.Tenant.filter(code="1004300").exists(), 1)
    go_on.set()
    report = await asyncio.wait_for(importing, 10)
    assert (report.outcome, report.counts.matched) == (Outcome.IMPORTED, 10)
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 10
    assert await accounts.stale_snapshots() == []


@pytest.mark.usefixtures("sqlite_file")
async def test_the_same_file_imported_concurrently_on_an_sqlite_file_is_applied_once() -> None:
    lease = await _lease()
    data = _file(900, "SAME")
    reports = await asyncio.gather(
        *(import_file(data, source=f"t{i}", chunk_size=100) for i in range(3))
    )
    outcomes = sorted(r.outcome for r in reports)
    assert outcomes.count(Outcome.IMPORTED) == 1
    assert set(outcomes) <= {Outcome.IMPORTED, Outcome.IN_PROGRESS, Outcome.ALREADY_IMPORTED}
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 900
    assert await accounts.stale_snapshots() == []


@pytest.mark.usefixtures("sqlite_file")
async def test_the_second_connection_is_closed_and_the_default_one_restored() -> None:
    default = connections.get("default")
    async with database.own_connection() as apart:
        assert apart and database.on_own_connection()
        own = connections.get("default")
        assert own is not default
        async with database.own_connection() as nested:  # no third connection
            assert nested and connections.get("default") is own
    assert connections.get("default") is default and not database.on_own_connection()
    assert own._connection is None  # closed


@pytest.mark.usefixtures("db")
async def test_an_in_memory_database_has_one_connection_and_postgres_a_pool() -> None:
    default = connections.get("default")
    async with database.own_connection() as apart:
        assert connections.get("default") is default
        # In memory the import shares the one connection; PostgreSQL's pool keeps them apart.
        assert apart is (TEST_DATABASE == "postgres")


async def _declared_payments_confirmed_by_consecutive_chunks(
    monkeypatch: pytest.MonkeyPatch, *, in_one_call: bool = False
) -> None:
    """Two entries of one lease, one chunk each, and two declared payments of their amount: the
    second chunk is matched while the first is being written (its transaction is held open until
    then), so it too picks the payment the first confirms — and must find the other one.
    ``in_one_call``: the first chunk is written in one call to SQLite's thread, held there."""
    from regie.services import ledger as ledger_service

    lease = await _lease()
    declared = [
        await ledger_service.declare_payment(
            lease.id,
            100,
            ledger.PaymentMethod.CHEQUE,
            date(2026, 3, day),
            ledger.PaymentSource.FIELD,
        )
        for day in (2, 3)
    ]
    monkeypatch.setattr(import_service, "PLAN_SIZE", 1)
    plans: list[int] = []
    second_planned = asyncio.Event()
    plan, write = import_service._plan, import_service._write

    async def counted(*args: Any) -> Any:
        planned = await plan(*args)
        plans.append(len(planned))
        if len(plans) == 2:
            second_planned.set()
        return planned

    async def held_until_the_next_chunk_is_matched(*args: Any) -> Any:
        written = await write(*args)
        # Without matching ahead, the second chunk would wait for this transaction: a deadlock.
        await asyncio.wait_for(second_planned.wait(), 5)
        return written

    write_rows, rows_written = import_service._write_rows_sqlite, []
    loop = asyncio.get_running_loop()

    def thread_held_until_the_next_chunk_is_matched(*args: Any) -> Any:
        written = write_rows(*args)
        rows_written.append(1)
        if len(rows_written) == 1:
            asyncio.run_coroutine_threadsafe(second_planned.wait(), loop).result(5)
        return written

    monkeypatch.setattr(import_service, "_plan", counted)
    if in_one_call:
        monkeypatch.setattr(
            import_service, "_write_rows_sqlite", thread_held_until_the_next_chunk_is_matched
        )
    else:
        _by_the_general_path(monkeypatch)
        monkeypatch.setattr(import_service, "_write", held_until_the_next_chunk_is_matched)
    report = await import_file(_file(2, "AHEAD"), source="t", chunk_size=1)

    assert (report.outcome, report.counts.matched, report.counts.new) == (Outcome.IMPORTED, 2, 2)
    assert report.chunk_sizes == [1, 1]
    assert len(plans) == 3  # the second chunk was matched again, from what the first committed
    statuses = await ledger.Payment.filter(lease_id=lease.id).values_list("id", "status")
    assert sorted(statuses) == [(p.id, ledger.PaymentStatus.CONFIRMED) for p in declared]
    assert await accounts.stale_snapshots() == []


@pytest.mark.usefixtures("sqlite_file")
@pytest.mark.parametrize("in_one_call", [True, False], ids=["in one call", "general path"])
async def test_a_chunk_matched_while_the_previous_one_is_written_is_matched_again_if_it_went_stale(
    monkeypatch: pytest.MonkeyPatch, in_one_call: bool
) -> None:
    await _declared_payments_confirmed_by_consecutive_chunks(monkeypatch, in_one_call=in_one_call)


@pytest.mark.usefixtures("db")
@pytest.mark.skipif(TEST_DATABASE != "postgres", reason="PostgreSQL's pool (the suite runs on it)")
async def test_on_postgres_too_a_chunk_matched_ahead_is_matched_again_if_it_went_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _declared_payments_confirmed_by_consecutive_chunks(monkeypatch)


@pytest.mark.usefixtures("sqlite_file")
async def test_an_import_stopped_while_a_chunk_is_written_keeps_no_half_and_resumes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lease = await _lease()
    data = _file(6, "STOPPED")
    write = import_service._write
    writes: list[int] = []
    second_inside = asyncio.Event()

    async def second_held_forever(*args: Any) -> Any:
        written = await write(*args)
        writes.append(1)
        if len(writes) == 2:
            second_inside.set()  # its rows are written, not committed
            await asyncio.Event().wait()
        return written

    _by_the_general_path(monkeypatch)
    monkeypatch.setattr(import_service, "_write", second_held_forever)
    importing = asyncio.create_task(import_file(data, source="t", chunk_size=2))
    await asyncio.wait_for(second_inside.wait(), 5)
    importing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await importing
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 2  # the first chunk only

    monkeypatch.setattr(import_service, "_write", write)
    report = await import_file(data, source="t", chunk_size=2)
    assert (report.outcome, report.resumed, report.counts.matched) == (Outcome.IMPORTED, True, 6)
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 6
    assert await accounts.stale_snapshots() == []


@pytest.mark.usefixtures("sqlite_file")
async def test_a_push_waiting_for_an_import_transaction_does_not_hold_up_lookups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lease = await _lease()
    inside, go_on = _first_write_held_open(monkeypatch)  # the file's chunk; the push's comes after
    importing = asyncio.create_task(import_file(_file(10, "FILE"), source="t"))
    await asyncio.wait_for(inside.wait(), 5)
    body = b'{"confirmations": [{"id": "P-1", "tenantCode": "1004300", "amountCents": 700, "bookedOn": "2026-03-20"}]}'
    request = import_service.ImportRequest(
        channel=ImportChannel.PUSH,
        format="push",
        message_id="msg_1",
        message_key="msg_1",
        content_sha256=hashlib.sha256(body).hexdigest(),
        source="treasury",
    )
    pushing = asyncio.create_task(import_service.run_import(request, parse_confirmations(body)))
    await asyncio.sleep(0.3)
    assert not pushing.done()  # it waits for the import's transaction to end …
    # … and the lookups' connection answers meanwhile.
    assert await asyncio.wait_for(ledger.Payment.filter(lease_id=lease.id).count(), 1) == 0
    go_on.set()
    file_report, push_report = await asyncio.wait_for(asyncio.gather(importing, pushing), 10)
    assert (file_report.counts.matched, push_report.counts.matched) == (10, 1)
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 11
    assert await accounts.stale_snapshots() == []


def _snapshot_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many snapshots each read of them inside an import's transaction asked for."""
    reads: list[int] = []
    query = import_service._Snapshots.query

    def counted(connection: Any, lease_ids: Any) -> Any:
        reads.append(len(lease_ids))
        return query(connection, lease_ids)

    monkeypatch.setattr(import_service._Snapshots, "query", staticmethod(counted))
    return reads


def _paused_after_first_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[asyncio.Event, asyncio.Event]:
    """The import stops once its first chunk has committed (``paused``) until ``go_on`` is set."""
    return _held_after_first_call(monkeypatch, "_try_chunk")


@pytest.mark.usefixtures("sqlite_file")
async def test_an_import_reads_its_snapshots_once_when_nobody_else_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lease = await _lease()
    reads = _snapshot_reads(monkeypatch)
    report = await import_file(_file(10, "ALONE"), source="t", chunk_size=2)
    assert (report.outcome, report.counts.matched) == (Outcome.IMPORTED, 10)
    assert reads == [1]  # the first chunk read it; the four others wrote what they remembered
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 10
    assert await accounts.stale_snapshots() == []


@pytest.mark.usefixtures("sqlite_file")
async def test_a_charge_billed_at_the_office_between_two_chunks_stays_in_the_snapshot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lease = await _lease()
    reads = _snapshot_reads(monkeypatch)
    paused, go_on = _paused_after_first_chunk(monkeypatch)
    importing = asyncio.create_task(import_file(_file(6, "BILLED"), source="t", chunk_size=2))
    await asyncio.wait_for(paused.wait(), 5)
    # Another connection (this task's: the requests') bills a month and rewrites the snapshot.
    await factories.bill(lease, date(2026, 4, 1))
    go_on.set()
    report = await asyncio.wait_for(importing, 10)
    assert (report.outcome, report.counts.matched) == (Outcome.IMPORTED, 6)
    assert reads == [1, 1]  # read again after somebody else wrote
    snapshot = await ledger.AccountSnapshot.get(lease_id=lease.id)
    assert [due[:7] for due, _ in snapshot.open_charges] == ["2026-03", "2026-04"]
    assert await accounts.stale_snapshots() == []


@pytest.mark.usefixtures("sqlite_file")
@pytest.mark.parametrize("general_path", [False, True], ids=["in one call", "general path"])
async def test_a_chunk_rolled_back_and_written_again_leaves_no_remembered_snapshot(
    monkeypatch: pytest.MonkeyPatch, general_path: bool
) -> None:
    lease = await _lease()
    reads = _snapshot_reads(monkeypatch)
    if general_path:
        _by_the_general_path(monkeypatch)
    write_rows = import_service._write_rows_sqlite
    attempts: list[int] = []

    def second_chunk_fails_once(*args: Any) -> Any:
        written = write_rows(*args)  # its snapshot is updated, not yet committed
        attempts.append(1)
        if len(attempts) == 2:
            raise sqlite3.IntegrityError("another importer got there first")
        return written

    monkeypatch.setattr(import_service, "_write_rows_sqlite", second_chunk_fails_once)
    report = await import_file(_file(6, "RETRIED"), source="t", chunk_size=2)
    assert (report.outcome, report.counts.matched) == (Outcome.IMPORTED, 6)
    assert len(attempts) == 4 and reads == [1, 1]  # read again after the rollback
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 6
    assert await accounts.stale_snapshots() == []


def _general_path_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the chunks written the way of every database (see _by_the_general_path)."""
    calls: list[int] = []
    in_transaction = import_service._write_in_transaction

    async def counted(*args: Any) -> Any:
        calls.append(1)
        return await in_transaction(*args)

    monkeypatch.setattr(import_service, "_write_in_transaction", counted)
    return calls


@pytest.mark.usefixtures("sqlite_file")
async def test_on_an_sqlite_file_each_chunk_is_written_in_one_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lease = await _lease()
    general = _general_path_writes(monkeypatch)
    report = await import_file(_file(10, "ONE-CALL"), source="t", chunk_size=3)
    assert (report.outcome, report.counts.matched, report.chunk_sizes) == (
        Outcome.IMPORTED, 10, [3, 3, 3, 1],
    )  # fmt: skip
    assert general == []
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 10
    assert await accounts.stale_snapshots() == []


@pytest.mark.usefixtures("sqlite_file")
async def test_a_chunk_with_a_reversal_or_a_lease_without_snapshot_goes_the_general_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lease = await _lease()
    general = _general_path_writes(monkeypatch)
    credit = Tx("450.00", "C-0", end_to_end="E2E-RENT-1", ustrd=("LOC 1004300",))
    returned = Tx(
        "450.00", "R-0", credit=False, reversal=True, return_reason="AC04",
        end_to_end="E2E-RENT-1", domain=("PMNT", "RCDT", "RRTN"),
    )  # fmt: skip
    filler = [Tx("1.00", f"F-{i}", ustrd=("LOC 1004300",)) for i in range(4)]
    report = await import_file(
        camt054([credit, *filler, returned], message_id="REVERSED"), source="t", chunk_size=3
    )
    assert (report.counts.matched, report.counts.unmatched) == (6, 0)
    assert len(general) == 1  # the chunk holding the return; the first one was written in one call
    rejected = await ledger.Payment.get(lease_id=lease.id, amount_cents=45000)
    assert rejected.status == ledger.PaymentStatus.REJECTED
    assert await accounts.stale_snapshots() == []

    # A lease whose snapshot is missing is summed up from its ledger, the general way.
    await ledger.AccountSnapshot.filter(lease_id=lease.id).delete()
    report = await import_file(_file(2, "NO-SNAPSHOT"), source="t", chunk_size=2)
    assert report.counts.matched == 2 and len(general) == 2
    assert await accounts.stale_snapshots() == []


@pytest.mark.usefixtures("sqlite_file")
async def test_an_import_stopped_while_a_chunk_is_written_in_one_call_keeps_no_half(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lease = await _lease()
    data = _file(6, "STOPPED-ONE-CALL")
    write_rows, loop = import_service._write_rows_sqlite, asyncio.get_running_loop()
    inside, go_on = asyncio.Event(), asyncio.Event()
    calls: list[int] = []

    def second_held(*args: Any) -> Any:
        written = write_rows(*args)
        calls.append(1)
        if len(calls) == 2:  # its rows are written, not committed
            loop.call_soon_threadsafe(inside.set)
            asyncio.run_coroutine_threadsafe(go_on.wait(), loop).result(5)
        return written

    monkeypatch.setattr(import_service, "_write_rows_sqlite", second_held)
    importing = asyncio.create_task(import_file(data, source="t", chunk_size=2))
    await asyncio.wait_for(inside.wait(), 5)
    importing.cancel()
    go_on.set()
    with pytest.raises(asyncio.CancelledError):
        await importing
    # The chunk under way when the import stopped is there whole, or not at all.
    assert await ledger.Payment.filter(lease_id=lease.id).count() in (2, 4)
    assert await accounts.stale_snapshots() == []

    monkeypatch.setattr(import_service, "_write_rows_sqlite", write_rows)
    report = await import_file(data, source="t", chunk_size=2)
    assert (report.outcome, report.resumed, report.counts.read) == (Outcome.IMPORTED, True, 6)
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 6
    assert await imports_db.ImportedEntry.all().count() == 6
    assert await accounts.stale_snapshots() == []


@pytest.mark.usefixtures("sqlite_file")
async def test_a_chunk_written_in_one_call_audits_its_tenants_in_its_own_transaction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from regie.db import auth
    from regie.services import audit

    await _lease()
    _, other = await factories.tenant_with_lease("Durand", code="1004301")
    await factories.bill(other, date(2026, 3, 1))  # its snapshot: written in one call
    append = audit.append_in_sqlite_transaction
    calls: list[int] = []

    def first_fails_once_written(database: Any, events: Any) -> None:
        append(database, events)  # written, not committed
        calls.append(len(events))
        if len(calls) == 1:
            raise sqlite3.IntegrityError("another importer got there first")

    monkeypatch.setattr(audit, "append_in_sqlite_transaction", first_fails_once_written)
    data = camt054(
        [Tx("1.00", f"AUD-{i}", ustrd=(f"LOC {1004300 + i % 2}",)) for i in range(6)],
        message_id="AUDITED",
    )
    report = await import_file(data, source="t", chunk_size=2)
    assert report.counts.matched == 6
    assert calls == [2, 2, 0, 0]  # the first chunk twice (rolled back once), then nobody new
    events = await auth.AuditEvent.filter(action="treasury.confirmation").order_by("id")
    assert [(e.tenant_code, e.detail) for e in events] == [
        ("1004300", f"batch {report.batch_id}"),
        ("1004301", f"batch {report.batch_id}"),
    ]
    assert (await audit.verify_chain()).intact
