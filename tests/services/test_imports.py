"""Exactly once: concurrent imports, crashes inside a chunk's transaction, resuming, stale owners."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from regie.db import imports, ledger
from regie.services import accounts
from regie.services import imports as import_service
from regie.services.clock import now_utc
from regie.services.imports import Outcome
from regie.treasury.importer import import_file
from tests import factories
from tests.treasury.bankfiles import Tx, camt054

pytestmark = pytest.mark.usefixtures("db")

ENTRIES = 1200


async def _tenant() -> tuple[Any, Any]:
    tenant, lease = await factories.tenant_with_lease("Martin", code="1004300")
    await factories.bill(lease, date(2026, 3, 1))
    return tenant, lease


def _big_file() -> bytes:
    return camt054(
        [Tx("1.00", f"BIG-{i:05d}", ustrd=("LOC 1004300",)) for i in range(ENTRIES)],
        message_id="BIG",
    )


async def test_the_same_file_imported_concurrently_is_applied_once() -> None:
    _, lease = await _tenant()
    data = _big_file()
    reports = await asyncio.gather(*(import_file(data, source=f"t{i}") for i in range(3)))
    outcomes = sorted(r.outcome for r in reports)
    assert outcomes.count(Outcome.IMPORTED) == 1
    assert set(outcomes) <= {Outcome.IMPORTED, Outcome.IN_PROGRESS, Outcome.ALREADY_IMPORTED}
    assert await ledger.Payment.filter(lease_id=lease.id).count() == ENTRIES
    assert await accounts.stale_snapshots() == []


async def test_overlapping_files_imported_concurrently_count_shared_entries_once() -> None:
    _, lease = await _tenant()
    shared = [Tx("1.00", f"S-{i}", ustrd=("LOC 1004300",)) for i in range(600)]
    first = camt054([*shared, Tx("2.00", "ONLY-1", ustrd=("LOC 1004300",))], message_id="F1")
    second = camt054([*shared, Tx("3.00", "ONLY-2", ustrd=("LOC 1004300",))], message_id="F2")
    reports = await asyncio.gather(
        import_file(first, source="a", chunk_size=50),
        import_file(second, source="b", chunk_size=50),
    )
    assert sum(r.counts.new for r in reports) == 602
    assert sum(r.counts.duplicates for r in reports) == 600
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 602


async def test_a_crash_inside_a_chunk_leaves_nothing_half_applied_and_a_rerun_completes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, lease = await _tenant()
    original = import_service._write
    calls = {"n": 0}

    async def crash_on_second_chunk(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        written = await original(*args, **kwargs)
        if calls["n"] == 2:
            raise RuntimeError("power cut")  # after the chunk's rows were written, before commit
        return written

    monkeypatch.setattr(import_service, "_write", crash_on_second_chunk)
    data = _big_file()
    with pytest.raises(RuntimeError, match="power cut"):
        await import_file(data, source="t")
    assert await ledger.Payment.filter(lease_id=lease.id).count() == import_service.CHUNK_SIZE
    assert await imports.ImportedEntry.all().count() == import_service.CHUNK_SIZE
    assert await accounts.stale_snapshots() == []

    monkeypatch.setattr(import_service, "_write", original)
    report = await import_file(data, source="t")
    assert (report.outcome, report.resumed) == (Outcome.IMPORTED, True)
    assert (report.counts.read, report.counts.new, report.counts.duplicates) == (
        ENTRIES,
        ENTRIES,
        0,
    )
    assert await ledger.Payment.filter(lease_id=lease.id).count() == ENTRIES
    assert await accounts.stale_snapshots() == []


async def test_a_batch_whose_owner_went_silent_is_taken_over() -> None:
    await _tenant()
    data = camt054([Tx("1.00", "X1", ustrd=("LOC 1004300",))], message_id="STALE")
    await imports.ImportBatch.create(
        channel=imports.ImportChannel.FILE,
        message_key="camt.054|STALE",
        message_id="STALE",
        content_sha256=__import__("hashlib").sha256(data).hexdigest(),
        format="camt.054",
        source="t",
        owner="elsewhere:1:dead",
        heartbeat_at=now_utc() - timedelta(minutes=5),
        started_at=now_utc() - timedelta(minutes=6),
    )
    report = await import_file(data, source="t")
    assert (report.outcome, report.resumed, report.counts.matched) == (Outcome.IMPORTED, True, 1)


async def test_a_batch_whose_owner_is_alive_is_left_alone() -> None:
    data = camt054([Tx("1.00", "X1")], message_id="BUSY")
    await imports.ImportBatch.create(
        channel=imports.ImportChannel.FILE,
        message_key="camt.054|BUSY",
        message_id="BUSY",
        content_sha256=__import__("hashlib").sha256(data).hexdigest(),
        format="camt.054",
        source="t",
        owner="elsewhere:1:alive",
        heartbeat_at=now_utc(),
        started_at=now_utc(),
    )
    report = await import_file(data, source="t")
    assert report.outcome == Outcome.IN_PROGRESS
    assert not await imports.ImportedEntry.exists()


async def test_reading_failure_mid_file_is_resumed_from_the_last_committed_chunk() -> None:
    _, lease = await _tenant()
    from regie.treasury.readers import read_any

    data = _big_file()
    request = import_service.ImportRequest(
        channel=imports.ImportChannel.FILE,
        format="camt.054",
        message_id="BIG",
        message_key="camt.054|BIG",
        content_sha256=__import__("hashlib").sha256(data).hexdigest(),
        source="t",
    )

    def breaks_after(count: int) -> Iterator[Any]:
        for i, record in enumerate(read_any(data).entries):
            if i == count:
                raise OSError("disk gone")
            yield record

    with pytest.raises(OSError):
        await import_service.run_import(request, breaks_after(700))
    report = await import_service.run_import(request, read_any(data).entries)
    assert (report.counts.read, report.counts.new) == (ENTRIES, ENTRIES)
    assert await ledger.Payment.filter(lease_id=lease.id).count() == ENTRIES


async def test_several_payments_of_a_lease_in_one_chunk_leave_its_snapshot_equal_to_its_ledger() -> (
    None
):
    from regie.services import ledger as ledger_service

    _, lease = await _tenant()
    await factories.bill(lease, date(2026, 1, 1), date(2026, 2, 1))
    declared = await ledger_service.declare_payment(
        lease.id, 300, ledger.PaymentMethod.CHEQUE, date(2026, 3, 9), ledger.PaymentSource.FIELD
    )
    days = [date(2026, 3, 12), date(2026, 3, 2), date(2026, 3, 12), date(2026, 3, 5)]
    data = camt054(
        [Tx("3.00", "MANY-0", booked=date(2026, 3, 4), ustrd=("LOC 1004300",))]
        + [
            Tx(f"{100 + i}.00", f"MANY-{i + 1}", booked=day, ustrd=("LOC 1004300",))
            for i, day in enumerate(days)
        ],
        message_id="MANY",
    )
    report = await import_file(data, source="t")
    assert report.counts.matched == 5
    await declared.refresh_from_db()
    assert declared.status == ledger.PaymentStatus.CONFIRMED
    assert await accounts.stale_snapshots() == []
    snapshot = await ledger.AccountSnapshot.get(lease_id=lease.id)
    latest = await ledger.Payment.filter(lease_id=lease.id).order_by("-paid_on", "-id").first()
    assert latest is not None and snapshot.last_payment_id == latest.id


def _once_planned(
    monkeypatch: pytest.MonkeyPatch, payment_id: int, status: ledger.PaymentStatus, lease_id: int
) -> None:
    """Someone else gives the payment ``status`` once the import has planned its entries, before
    it writes them."""
    plan = import_service._plan

    async def changed_once_planned(*args: Any) -> Any:
        planned = await plan(*args)
        await ledger.Payment.filter(id=payment_id).update(status=status)
        await accounts.refresh_snapshots([lease_id])
        return planned

    monkeypatch.setattr(import_service, "_plan", changed_once_planned)


async def test_a_declared_payment_confirmed_by_someone_else_meanwhile_is_not_confirmed_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from regie.services import ledger as ledger_service

    _, lease = await _tenant()
    declared = await ledger_service.declare_payment(
        lease.id, 45000, ledger.PaymentMethod.CHEQUE, date(2026, 3, 1), ledger.PaymentSource.FIELD
    )
    _once_planned(monkeypatch, declared.id, ledger.PaymentStatus.CONFIRMED, lease.id)
    report = await import_file(camt054([Tx("450.00", "C1", ustrd=("LOC 1004300",))]), source="t")
    assert (report.counts.matched, report.counts.new) == (1, 1)
    payments = await ledger.Payment.filter(lease_id=lease.id).order_by("id")
    assert len(payments) == 2 and payments[1].source == ledger.PaymentSource.TREASURY_FILE
    assert await accounts.stale_snapshots() == []


async def test_a_return_whose_original_was_rejected_meanwhile_waits_and_counts_as_unmatched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, lease = await _tenant()
    paid = await factories.confirmed_payment(lease, 45000, date(2026, 3, 3))
    _once_planned(monkeypatch, paid.id, ledger.PaymentStatus.REJECTED, lease.id)
    returned = Tx(
        "450.00", "R1", credit=False, reversal=True, return_reason="AM04", ustrd=("LOC 1004300",)
    )
    report = await import_file(camt054([returned], message_id="RETURN"), source="t")
    assert (report.counts.matched, report.counts.unmatched) == (0, 1)
    batch = await imports.ImportBatch.get(id=report.batch_id)
    assert (batch.matched_count, batch.unmatched_count) == (0, 1)
    assert await accounts.stale_snapshots() == []


async def test_each_tenant_is_audited_once_per_batch_however_many_chunks_change_it() -> None:
    from regie.db import auth

    await _tenant()
    report = await import_file(_big_file(), source="t", chunk_size=100)
    assert len(report.chunk_sizes) == ENTRIES // 100
    events = await auth.AuditEvent.filter(tenant_code="1004300", action="treasury.confirmation")
    assert [e.detail for e in events] == [f"batch {report.batch_id}"]


async def test_transactions_are_sized_to_how_long_they_take(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _tenant()
    # "Everything is slow", on a connection shared with requests or of its own (PostgreSQL).
    monkeypatch.setattr(import_service, "TRANSACTION_SECONDS", 1e-6)
    monkeypatch.setattr(import_service, "OWN_CONNECTION_TRANSACTION_SECONDS", 1e-6)
    report = await import_file(_big_file(), source="t")
    sizes = report.chunk_sizes
    assert sizes[0] == import_service.CHUNK_SIZE
    assert import_service.CHUNK_LIMITS[0] == import_service.OWN_CONNECTION_CHUNK_LIMITS[0]
    assert sizes[-2] == import_service.CHUNK_LIMITS[0] and sum(sizes) == ENTRIES


async def test_a_return_later_in_the_same_file_reverses_the_payment_its_credit_made() -> None:
    _, lease = await _tenant()
    credit = Tx("450.00", "C-0", end_to_end="E2E-RENT-1", ustrd=("LOC 1004300",))
    filler = [Tx("1.00", f"F-{i}", ustrd=("LOC 1004300",)) for i in range(300)]
    returned = Tx(
        "450.00", "R-0", credit=False, reversal=True, return_reason="AC04",
        end_to_end="E2E-RENT-1", domain=("PMNT", "RCDT", "RRTN"),
    )  # fmt: skip
    report = await import_file(
        camt054([credit, *filler, returned], message_id="SAME-FILE"), source="t", chunk_size=100
    )
    assert (report.counts.matched, report.counts.unmatched) == (302, 0)
    rejected = await ledger.Payment.get(lease_id=lease.id, amount_cents=45000)
    assert rejected.status == ledger.PaymentStatus.REJECTED
    assert await accounts.stale_snapshots() == []


def test_chunks_grow_at_once_to_what_fits_and_shrink_by_halves() -> None:
    sizer = import_service._ChunkSizer(None, 0.25, (50, 10_000))
    assert sizer.size == import_service.CHUNK_SIZE == 250
    sizer.observe(250, 0.025)  # ten times quicker than wanted: 2,500 fit
    assert sizer.size == 2_500
    sizer.observe(2_500, 0.5)  # twice too slow: 1,250 fit, and the next chunk goes halfway
    assert sizer.size == 1_875
    sizer.observe(100, 0.0001)  # a short last chunk says nothing
    assert sizer.size == 1_875
    sizer.observe(1_875, 0.001)  # never more than the limit
    assert sizer.size == 10_000
