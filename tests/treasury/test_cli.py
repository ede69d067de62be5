"""``regie import``: the summary table, the exit status, and kill -9 at any moment then re-running."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from tortoise.context import TortoiseContext

from regie.db.config import tortoise_config
from regie.services import accounts
from tests import factories
from tests.treasury.bankfiles import Tx, camt054, csv_file

TENANT_CODE = "1004300"
pytestmark = pytest.mark.skipif(
    os.environ.get("REGIE_TEST_DATABASE", "sqlite") != "sqlite",
    reason="the CLI runs against an SQLite file here; PostgreSQL is covered in-process",
)


async def _database(tmp_path: Path) -> str:
    """An SQLite file holding the schema and one billed tenant; returns its URL."""
    url = f"sqlite://{tmp_path / 'regie.sqlite3'}"
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(url))
        await context.generate_schemas()
        _, lease = await factories.tenant_with_lease("Martin", code=TENANT_CODE)
        await factories.bill(lease, date(2026, 3, 1))
    return url


def _regie(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": url, "REGIE_ENV": "development"}
    env.pop("REGIE_BROKER_URL", None)
    return subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "regie.cli", "import", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = process.communicate(timeout=240)
    return process.returncode, out


async def _stale(url: str) -> list[int]:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(url))
        return await accounts.stale_snapshots()


async def test_summary_table_and_success_exit_status(tmp_path: Path) -> None:
    url = await _database(tmp_path)
    path = tmp_path / "notification.xml"
    path.write_bytes(camt054([Tx("450.00", "C1", ustrd=(f"LOC {TENANT_CODE}",))]))
    status, out = _finish(_regie(url, str(path)))
    assert status == 0, out
    header, _, row = out.splitlines()[:3]
    assert header.split() == [
        "file", "format", "outcome", "read", "new", "duplicates", "matched", "unmatched",
        "ignored", "pending", "rejected",
    ]  # fmt: skip
    assert row.split() == [
        "notification.xml",
        "camt.054",
        "imported",
        "1",
        "1",
        "0",
        "1",
        "0",
        "0",
        "0",
        "0",
    ]
    status, out = _finish(_regie(url, str(path)))
    assert status == 0 and "already imported" in out


async def test_rejected_lines_are_listed_and_make_the_exit_status_non_zero(tmp_path: Path) -> None:
    url = await _database(tmp_path)
    path = tmp_path / "export.csv"
    path.write_bytes(
        csv_file([{"reference": "B1", "date_comptable": "31/02/2026", "montant": "10,00"}])
    )
    status, out = _finish(_regie(url, str(path)))
    assert status == 1
    assert "export.csv: rejected" in out


async def test_a_conflicting_file_makes_the_exit_status_non_zero(tmp_path: Path) -> None:
    url = await _database(tmp_path)
    first, second = tmp_path / "a.xml", tmp_path / "b.xml"
    first.write_bytes(camt054([Tx("1.00", "A")], message_id="SAME"))
    second.write_bytes(camt054([Tx("2.00", "B")], message_id="SAME"))
    status, out = _finish(_regie(url, str(first), str(second)))
    assert status == 1
    assert "Conflict" in out


async def test_kill_9_during_an_import_then_rerunning_applies_every_entry_once(
    tmp_path: Path,
) -> None:
    url = await _database(tmp_path)
    entries = 30_000
    path = tmp_path / "big.xml"
    path.write_bytes(
        camt054(
            [Tx("1.00", f"K{i:06d}", ustrd=(f"LOC {TENANT_CODE}",)) for i in range(entries)],
            message_id="KILL",
        )
    )
    process = _regie(url, str(path))
    database = tmp_path / "regie.sqlite3"
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and process.poll() is None:
        with sqlite3.connect(database, timeout=5) as connection:
            row = connection.execute("SELECT MAX(records_done) FROM import_batch").fetchone()
        done = row[0] or 0
        if done >= 2000:
            break
        await asyncio.sleep(0.05)
    if process.poll() is not None:
        pytest.fail("the import finished before it could be killed: make the file larger")
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    with sqlite3.connect(database, timeout=5) as connection:
        applied = connection.execute("SELECT COUNT(*) FROM imported_entry").fetchone()[0]
        payments = connection.execute("SELECT COUNT(*) FROM payment").fetchone()[0]
        records_done = connection.execute("SELECT records_done FROM import_batch").fetchone()[0]
    assert 0 < applied < entries
    assert applied == payments == records_done  # whole chunks only, counters in step

    status, out = _finish(_regie(url, str(path)))
    assert status == 0, out
    with sqlite3.connect(database, timeout=5) as connection:
        assert connection.execute("SELECT COUNT(*) FROM payment").fetchone()[0] == entries
        counts = connection.execute(
            "SELECT read_count, new_count, duplicate_count, status FROM import_batch"
        ).fetchone()
    assert counts == (entries, entries, 0, "done")
    assert await _stale(url) == []


def test_the_progress_bar_tells_the_time_left_at_the_pace_of_the_records_applied(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from regie import cli

    clock = iter([0.0, 0.8, 1.0, 1.8, 2.8])  # reading and checking the file took 0.8 s
    monkeypatch.setattr(cli.time, "monotonic", lambda: next(clock))
    show = cli._progress_bar("big.xml")
    show(250, 100_000)  # 0.8 s: no pace yet
    show(500, 100_000)  # 1.0 s: not half a second of it yet
    show(30_250, 100_000)  # 1.8 s: 30,000 in 1 s
    show(100_000, 100_000)
    lines = capsys.readouterr().err.split("\r")[1:]
    assert [line.split(", ")[1].strip() for line in lines] == [
        "… s left", "… s left", "~   2 s left", "~   0 s left",
    ]  # fmt: skip
    assert lines[-1].endswith("\n") and "100,000/100,000" in lines[-1]
