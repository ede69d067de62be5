"""Large files are read by a child process: the same records, the same refusals, the same
exactly-once guarantees as when they are read in a thread of the importing process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from regie.db import imports, ledger, matching
from regie.services import accounts
from regie.services import imports as import_service
from regie.services.imports import Outcome
from regie.treasury import importer, reading, reading_child
from regie.treasury.readers import read_any
from regie.treasury.records import BankEntry, RejectedEntry, StructuralError
from tests import factories
from tests.treasury.bankfiles import Movement, Tx, camt053, camt054, cfonb120

SAMPLES = Path(__file__).parent / "readers" / "samples"


def _file(entries: int, message_id: str = "CHILD") -> bytes:
    return camt054(
        [
            Tx(f"{1 + i % 7}.00", f"CH-{i:05d}", booked=date(2026, 3, 1 + i % 28),
               ustrd=("LOC 1004300",))
            for i in range(entries)
        ],
        message_id=message_id,
    )  # fmt: skip


async def _read_by_children(data: bytes) -> tuple[object, list[object]]:
    """The header and every record of ``data`` as the child reader hands them out."""
    header, child = await reading.ChildReader.start(data, None)
    try:
        records: list[object] = []
        while taken := await child.take(1000):
            records += taken
    finally:
        await child.close()
    return header, records


def test_records_cross_the_pipe_unchanged() -> None:
    data = (SAMPLES / "camt053_v04_statement.xml").read_bytes()
    records = list(read_any(data).entries)
    records.append(RejectedEntry("Stmt 1, Ntry 9", "The entry has no amount."))
    records.append(
        BankEntry("x", "id", "debit", 1, "EUR", None, None, "info", reversal=True, remittance=())
    )
    assert [reading_child.unpack(reading_child.pack(record)) for record in records] == records


def test_both_children_read_the_whole_shared_copy_of_the_file() -> None:
    # Both hold the same open file: what one reads must not move where the other reads from.
    data = bytes(range(256)) * 4096
    shared = reading._shared_copy(data)  # its offset is at the end once written
    other = os.dup(shared)
    assert reading_child.read_shared(shared) == data
    assert reading_child.read_shared(other) == data


def test_without_in_memory_files_the_copy_is_a_temporary_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused(name: str, flags: int = 0) -> int:
        raise PermissionError("memfd_create is not allowed here")

    monkeypatch.setattr(os, "memfd_create", refused, raising=False)
    data = b"<Document/>" * 1000
    assert reading_child.read_shared(reading._shared_copy(data)) == data


def test_the_child_starts_without_what_only_the_parent_or_other_formats_need() -> None:
    # Two children start for each large camt file: their start-up is part of every import.
    probe = (
        "import sys, regie.treasury.reading_child; "
        "print(sorted(m for m in ('asyncio', 'regie.treasury.readers.cfonb120', "
        "'regie.treasury.readers.csv_format') if m in sys.modules))"
    )
    root = str(Path(reading.__file__).resolve().parents[2])
    done = subprocess.run(  # noqa: S603 - this interpreter, our own probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=root
    )
    assert done.stdout.strip() == "[]"


def test_the_formats_read_on_demand_keep_their_names() -> None:
    from regie.treasury.readers import cfonb120, csv_format, detect

    assert (detect._CFONB120, detect._CSV) == (cfonb120.FORMAT, csv_format.FORMAT)


async def test_the_child_hands_out_what_the_reader_reads() -> None:
    data = camt053([Tx("450.00", "S1"), Tx("12.50", "S2", credit=False)], message_id="STMT-9")
    expected = read_any(data)
    header, child = await reading.ChildReader.start(data, None)
    try:
        got = await child.take(1) + await child.take(10)
        assert await child.take(10) == []
    finally:
        await child.close()
    assert header == expected.header
    assert got == list(expected.entries)


async def test_a_broken_file_is_refused_by_the_child_before_any_record() -> None:
    data = _file(50)
    with pytest.raises(StructuralError, match="not well-formed"):
        await reading.ChildReader.start(data[: len(data) - 200], None)
    with pytest.raises(ValueError, match="Unknown format"):
        await reading.ChildReader.start(data, "pes-v2")


async def test_a_camt_file_is_checked_by_one_child_while_another_reads_its_entries(
    capfd: pytest.CaptureFixture[str],
) -> None:
    data = _file(2000)
    assert await _read_by_children(data) == (read_any(data).header, list(read_any(data).entries))
    # A broken file: the child checking it refuses it; the one reading its entries, which
    # stumbles on the same fault, is stopped without leaving a traceback on the server's log.
    with pytest.raises(StructuralError, match="not well-formed"):
        await reading.ChildReader.start(data[: len(data) // 2], None)
    assert capfd.readouterr().err == ""


async def test_a_file_of_another_format_is_checked_then_read_by_one_child() -> None:
    movements = [Movement(45000, "0000001", "VIR LOYER", payer="M MARTIN")]
    data = cfonb120(movements, opening=0)
    assert not reading.entries_read_apart(data, None)
    assert await _read_by_children(data) == (read_any(data).header, list(read_any(data).entries))
    # Its old balance from another statement: the new balance no longer adds up.
    unbalanced = cfonb120(movements, opening=100).split(b"\r\n")[0] + data[data.index(b"\r\n") :]
    with pytest.raises(StructuralError):
        await reading.ChildReader.start(unbalanced, None)


async def test_closing_early_stops_the_child() -> None:
    header, child = await reading.ChildReader.start(_file(3000), None)
    assert header.message_id == "CHILD"
    assert len(await child.take(10)) == 10
    await child.close()
    assert child._process.returncode is not None


@pytest.mark.usefixtures("db")
async def test_an_import_read_by_the_child_matches_one_read_in_a_thread() -> None:
    _, lease = await factories.tenant_with_lease("Martin", code="1004300")
    await factories.bill(lease, date(2026, 3, 1))
    data = _file(600)
    report = await importer.import_file(data, source="t", chunk_size=250, child_reader_from_bytes=0)
    assert (report.outcome, report.format) == (Outcome.IMPORTED, "camt.054")
    assert (report.counts.read, report.counts.new, report.counts.matched) == (600, 600, 600)
    again = await importer.import_file(data, source="t", child_reader_from_bytes=0)
    assert again.outcome == Outcome.ALREADY_IMPORTED
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 600
    assert await accounts.stale_snapshots() == []


@pytest.mark.usefixtures("db")
async def test_a_file_the_child_refuses_is_reported_with_the_readers_reason() -> None:
    report = await importer.import_file(b"<Document><oops", source="t", child_reader_from_bytes=0)
    assert report.outcome == Outcome.REFUSED
    assert "not" in report.message and "Refused" in report.message
    assert not await imports.ImportBatch.exists()


@pytest.mark.usefixtures("db")
async def test_a_child_that_dies_mid_file_leaves_whole_chunks_and_a_rerun_completes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, lease = await factories.tenant_with_lease("Martin", code="1004300")
    await factories.bill(lease, date(2026, 3, 1))
    data = _file(1200)
    taken = {"n": 0}
    original = reading.ChildReader.take

    async def dies_after_two_chunks(self: reading.ChildReader, count: int) -> list[object]:
        taken["n"] += 1
        if taken["n"] == 3:  # killed, and what it had written lost with it
            with contextlib.suppress(ProcessLookupError):  # it may have ended already
                self._process.kill()
            await self._process.wait()
            self._buffer.clear()
            ended = asyncio.StreamReader()
            ended.feed_eof()
            self._process.stdout = ended
        # A chunk's worth at a time, however many are asked for (the first records are taken
        # 2,000 at a time while the file is checked).
        return await original(self, min(count, 250))  # type: ignore[return-value]

    monkeypatch.setattr(reading.ChildReader, "take", dies_after_two_chunks)
    with pytest.raises(reading.ChildReaderFailed):
        await importer.import_file(data, source="t", chunk_size=250, child_reader_from_bytes=0)
    assert await imports.ImportedEntry.all().count() == 500
    assert await accounts.stale_snapshots() == []

    monkeypatch.setattr(reading.ChildReader, "take", original)
    report = await importer.import_file(data, source="t", chunk_size=250, child_reader_from_bytes=0)
    assert (report.outcome, report.resumed) == (Outcome.IMPORTED, True)
    assert (report.counts.read, report.counts.new) == (1200, 1200)
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 1200


@pytest.mark.usefixtures("db")
async def test_the_same_large_file_imported_concurrently_through_children_is_applied_once() -> None:
    _, lease = await factories.tenant_with_lease("Martin", code="1004300")
    data = _file(900)
    reports = await asyncio.gather(
        *(
            importer.import_file(data, source=f"t{i}", chunk_size=200, child_reader_from_bytes=0)
            for i in range(3)
        )
    )
    assert [r.outcome for r in reports].count(Outcome.IMPORTED) == 1
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 900
    assert await accounts.stale_snapshots() == []


def _verdict_after_early_matching(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Hold the checks' verdict back until records were matched early (5 s at most); returns
    the sizes of the batches matched, as they are."""
    matched: list[int] = []
    sort_out, verdict = import_service._sort_out, reading.ChildReader._verdict

    async def counting(*args: object) -> list[object]:
        planned = await sort_out(*args)  # type: ignore[arg-type]
        matched.append(len(planned))
        return planned  # type: ignore[return-value]

    async def after_early_matching(self: reading.ChildReader, *, closes: bool) -> object:
        for _ in range(500):
            if matched:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # time for the next batch to come
        return await verdict(self, closes=closes)

    monkeypatch.setattr(import_service, "_sort_out", counting)
    monkeypatch.setattr(reading.ChildReader, "_verdict", after_early_matching)
    return matched


@pytest.mark.usefixtures("db")
async def test_records_matched_while_the_file_is_checked_are_never_written_when_it_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await factories.tenant_with_lease("Martin", code="1004300")
    matched = _verdict_after_early_matching(monkeypatch)
    data = _file(6000)
    broken = data[: len(data) - 100]  # its end cut off: refused by the checks
    report = await importer.import_file(broken, source="t", child_reader_from_bytes=0)
    assert report.outcome == Outcome.REFUSED and "not well-formed" in report.message
    assert sum(matched) >= 2000  # matched, then dropped
    assert not await imports.ImportBatch.exists()
    assert not await ledger.Payment.filter(source=ledger.PaymentSource.TREASURY_FILE).exists()
    assert not await imports.ImportedEntry.exists()


@pytest.mark.usefixtures("db")
async def test_a_return_among_the_first_records_finds_its_original_written_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant, lease = await factories.tenant_with_lease("Martin", code="1004300")
    await factories.bill(lease, date(2026, 3, 1))
    await matching.DirectDebitMandate.create(reference="RUM-OPH-1004300", tenant_id=tenant.id)
    matched = _verdict_after_early_matching(monkeypatch)
    common = {"mandate": "RUM-OPH-1004300", "end_to_end": "PRLV-202603-1004300"}
    txs = [Tx("450.00", "D1", domain=("PMNT", "RDDT", "ESDD"), **common)]  # type: ignore[arg-type]
    txs += [Tx("1.00", f"CH-{i:05d}", ustrd=("LOC 1004300",)) for i in range(3000)]
    txs.append(
        Tx("450.00", "R1", credit=False, reversal=True, return_reason="AM04",
           domain=("PMNT", "RDDT", "UPDD"), **common)  # type: ignore[arg-type]
    )  # fmt: skip
    report = await importer.import_file(
        camt054(txs, message_id="EARLY-RETURN"), source="t", child_reader_from_bytes=0
    )
    assert matched[0] == 2000  # the first batch, matched early; the one with the return later
    assert report.outcome == Outcome.IMPORTED
    assert (report.counts.read, report.counts.matched) == (3002, 3002)
    collected = await ledger.Payment.get(lease_id=lease.id, amount_cents=45000)
    assert collected.status == ledger.PaymentStatus.REJECTED
    assert await accounts.stale_snapshots() == []
