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
    original = import_service._update_snapshots
    calls = {"n": 0}

    async def crash_on_second_chunk(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        await original(*args, **kwargs)
        if calls["n"] == 2:
            raise RuntimeError("power cut")  # after the chunk's rows were written, before commit

    monkeypatch.setattr(import_service, "_update_snapshots", crash_on_second_chunk)
    data = _big_file()
    with pytest.raises(RuntimeError, match="power cut"):
        await import_file(data, source="t")
    assert await ledger.Payment.filter(lease_id=lease.id).count() == import_service.CHUNK_SIZE
    assert await imports.ImportedEntry.all().count() == import_service.CHUNK_SIZE
    assert await accounts.stale_snapshots() == []

    monkeypatch.setattr(import_service, "_update_snapshots", original)
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
