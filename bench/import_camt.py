"""Import throughput and lookup latency during an import; push → visible balance latency.

    .venv/bin/python bench/import_camt.py [--entries 100000] [--dwellings 3500]

In a temporary folder: loads the demo office into an SQLite file, writes a camt.054 of N entries
(most carry a tenant code in the remittance text, some an RF reference, some only a payer name,
some come from the CAF, some are bank fees), imports it, and prints as a markdown table:

- entries per second of the import on its own, next to a plain ``sqlite3.executemany`` of the
  same rows (the identity, payment and confirmation rows the import wrote, into an empty copy of
  the same tables and indexes) measured in the same run — target ≥ 25 %. The pair is measured
  ``--runs`` times (5), each import into its own copy of the demo office and each baseline right
  after its import: the median ratio is the figure, the others are printed beside it;
- peak memory (maximum resident set size of the process, and its growth during the import);
- p50/p95/max of ``tenant(code)`` lookups (GraphQL executed in process, as office staff) issued
  one after the other while a second file of as many entries is imported in the same process —
  target p95 ≤ 50 ms — and that import's entries per second (the lookups share its process);
- push POST (signed, through the ASGI app) → the new balance returned by ``tenant(code)``: p50/p99
  over a few hundred pushes — target p99 ≤ 1 s.

Machines here are noisy (±30 %): compare figures from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from tortoise.context import TortoiseContext

from regie.app import create_app
from regie.auth import tokens
from regie.context import Context
from regie.db import tenants
from regie.db.config import tortoise_config
from regie.demo import office
from regie.schema.schema import schema
from regie.services import oauth_clients, references
from regie.services.access import CONFIRMATIONS_WRITE, Viewer
from regie.services.audit import AuditTrail
from regie.services.imports import OWN_CONNECTION_TRANSACTION_SECONDS
from regie.settings import load_settings
from regie.treasury.importer import import_file
from regie.treasury.push import sign

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.treasury.bankfiles import Tx, camt054

TENANT = """
query Tenant($code: String!) {
  tenant(code: $code) { code account { confirmedBalanceCents expectedBalanceCents arrearsCents asOf
    lastPayment { amountCents status } } }
}
"""
PUSH_SECRET = b"bench-push-secret-0123456789abcdef"


class NoAudit(AuditTrail):
    """Lookups here leave the audit log alone (the bench measures the lookup itself)."""

    async def flush(self) -> None:
        self.pending = []


def office_context() -> Context:
    context = Context(viewer=Viewer.office_wide())
    context.audit = NoAudit(context.audit.actor, context.audit.surface)
    return context


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def peak_rss_mib() -> float:
    """Peak resident set size since the last :func:`reset_peak_rss` (Linux), else since start."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets the peak (VmHWM) to the current size."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def write_file(
    codes: list[str], count: int, rng: random.Random, prefix: str = "A", message_id: str = "BENCH-A"
) -> bytes:
    txs: list[Tx] = []
    for i in range(count):
        code = rng.choice(codes)
        amount = f"{rng.randint(50, 600)}.{rng.randint(0, 99):02d}"
        booked = date(2026, 3, 1 + i % 28)
        kind = rng.random()
        ref = f"2026{prefix}{i:08d}"
        if kind < 0.85:
            tx = Tx(amount, ref, booked, payer="M OU MME X", ustrd=(f"LOYER LOC {code}",))
        elif kind < 0.90:
            tx = Tx(amount, ref, booked, creditor_ref=references.rf_reference(code))
        elif kind < 0.95:
            tx = Tx(amount, ref, booked, payer=f"M {rng.choice(['MARTIN', 'BERNARD', 'DUBOIS'])}")
        elif kind < 0.98:
            tx = Tx(amount, ref, booked, payer="CAISSE D ALLOCATIONS FAMILIALES 82")
        else:
            tx = Tx("2.50", ref, booked, credit=False, domain=("ACMT", "MDOP", "CHRG"))
        txs.append(tx)
    return camt054(txs, message_id=message_id)


def baseline_executemany(source: Path, target: Path) -> tuple[float, int]:
    """Copy the rows the import wrote into empty tables of the same shape, with executemany."""
    tables = ("imported_entry", "payment", "confirmation")
    with sqlite3.connect(source) as src:
        ddl = [
            sql
            for name, sql in src.execute(
                "SELECT tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL AND type IN "
                "('table', 'index')"
            )
            if name in tables
        ]
        first = "batch_id = (SELECT MIN(id) FROM import_batch)"
        written = {
            "imported_entry": f"SELECT * FROM imported_entry WHERE {first}",  # noqa: S608
            "payment": f"SELECT * FROM payment WHERE id IN (SELECT payment_id FROM imported_entry WHERE {first})",  # noqa: S608
            "confirmation": "SELECT * FROM confirmation WHERE payment_id IN "  # noqa: S608
            f"(SELECT payment_id FROM imported_entry WHERE {first})",
        }
        rows = {t: src.execute(written[t]).fetchall() for t in tables}
    with sqlite3.connect(target) as dst:
        dst.execute("PRAGMA foreign_keys = OFF")
        for statement in ddl:
            dst.execute(statement.replace('REFERENCES "', 'REFERENCES "x_'))
        dst.commit()
        started = time.perf_counter()
        for table in tables:
            if rows[table]:
                marks = ", ".join("?" * len(rows[table][0]))
                dst.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows[table])  # noqa: S608
        dst.commit()
        elapsed = time.perf_counter() - started
    return elapsed, sum(len(r) for r in rows.values())


async def lookup(code: str) -> float:
    started = time.perf_counter()
    result = await schema.execute(
        TENANT, variable_values={"code": code}, context_value=office_context()
    )
    if result.errors:
        raise SystemExit(f"lookup failed: {result.errors}")
    return (time.perf_counter() - started) * 1000


async def lookups_during(
    task: asyncio.Task[Any], codes: list[str], rng: random.Random
) -> list[float]:
    samples: list[float] = []
    while not task.done():
        samples.append(await lookup(rng.choice(codes)))
        await asyncio.sleep(0.005)
    return samples


async def push_latencies(codes: list[str], rng: random.Random, count: int) -> list[float]:
    secret = "whsec_" + base64.b64encode(PUSH_SECRET).decode()
    settings = load_settings({"REGIE_ENV": "development", "REGIE_PUSH_SECRETS": secret})
    app = create_app(settings)
    # The treasury's machine client: a bearer token whose only scope is confirmations:write.
    await oauth_clients.create_client(
        "Trésorerie (bench)",
        scopes=[CONFIRMATIONS_WRITE],
        client_id="bench-treasury",
        secret="b" * 40,
    )
    token = await tokens.issue_access_token(
        client_id="bench-treasury", scopes=[CONFIRMATIONS_WRITE], settings=settings
    )
    samples: list[float] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://b",
        headers={"authorization": f"Bearer {token}"},
    ) as c:
        for i in range(count):
            code = rng.choice(codes)
            before = await schema.execute(
                TENANT,
                variable_values={"code": code},
                context_value=office_context(),
            )
            balance = before.data["tenant"]["account"]["confirmedBalanceCents"]  # type: ignore[index]
            body = json.dumps(
                {
                    "confirmations": [
                        {
                            "id": f"PUSH-{i}",
                            "tenantCode": code,
                            "amountCents": 1234,
                            "bookedOn": "2026-03-20",
                        }
                    ]
                }
            ).encode()
            timestamp = int(time.time())
            started = time.perf_counter()
            response = await c.post(
                "/treasury/confirmations",
                content=body,
                headers={
                    "content-type": "application/json",
                    "webhook-id": f"msg_{i}",
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": sign(PUSH_SECRET, f"msg_{i}", timestamp, body),
                },
            )
            if response.status_code != 200:
                raise SystemExit(f"push failed: {response.text}")
            while True:
                after = await schema.execute(
                    TENANT,
                    variable_values={"code": code},
                    context_value=office_context(),
                )
                account = after.data["tenant"]["account"]  # type: ignore[index]
                if account["confirmedBalanceCents"] == balance - 1234:
                    break
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of an SQLite database in use (its WAL included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


async def main(
    entries: int, dwellings: int, pushes: int, chunk_size: int | None, cli: bool, runs: int
) -> None:
    rng = random.Random(20261126)
    with tempfile.TemporaryDirectory(prefix="regie-bench-") as folder:
        path = Path(folder) / "bench.sqlite3"
        url = f"sqlite://{path}"
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(url))
            await context.generate_schemas()
            started = time.perf_counter()
            await office.load_demo_office(
                office.DemoOptions(dwellings=dwellings, now=datetime(2026, 3, 1, tzinfo=UTC))
            )
            print(
                f"demo office ({dwellings} dwellings) in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            codes = list(await tenants.Tenant.all().values_list("code", flat=True))
            office_copy = Path(folder) / "office.sqlite3"
            copy_database(path, office_copy)  # the other runs import into copies of it
            data = write_file(codes, entries, rng)  # type: ignore[arg-type]
            print(f"camt.054: {len(data) / 1e6:.1f} MB, {entries:,} entries", file=sys.stderr)
            for _ in range(20):  # warm the lookup path
                await lookup(rng.choice(codes))  # type: ignore[arg-type]

            # The import on its own: its throughput, and its memory.
            reset_peak_rss()
            rss_before = current_rss_mib()
            started = time.perf_counter()
            report = await import_file(data, source="bench", chunk_size=chunk_size)
            import_seconds = time.perf_counter() - started
            rss_after = peak_rss_mib()
            # Its baseline right away: this machine's speed drifts from one minute to the next.
            baseline_seconds, baseline_rows = baseline_executemany(
                path, Path(folder) / "baseline.sqlite3"
            )

            # As many entries again while lookups are served one after the other, in this process.
            loaded = write_file(codes, entries, rng, "L", "BENCH-L")  # type: ignore[arg-type]
            started = time.perf_counter()
            task = asyncio.create_task(import_file(loaded, source="bench", chunk_size=chunk_size))
            samples = await lookups_during(task, codes, rng)  # type: ignore[arg-type]
            loaded_seconds = time.perf_counter() - started

            # The same volume imported by `regie import` in another process, lookups served here.
            cli_samples: list[float] = []
            cli_seconds = 0.0
            if cli:
                other = Path(folder) / "other.xml"
                other.write_bytes(write_file(codes, entries, rng, "B", "BENCH-B"))  # type: ignore[arg-type]
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "regie.cli", "import", str(other),
                    env={**os.environ, "DATABASE_URL": url}, stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )  # fmt: skip
                started = time.perf_counter()
                waiter = asyncio.create_task(process.wait())
                cli_samples = await lookups_during(waiter, codes, rng)  # type: ignore[arg-type]
                cli_seconds = time.perf_counter() - started
            pushes_ms = await push_latencies(codes, rng, pushes)  # type: ignore[arg-type]

        # The same pair again, each import into a fresh copy of the demo office.
        ratios = [baseline_seconds / import_seconds]  # entries/s over entries/s: the same entries
        for run in range(2, runs + 1):
            again = Path(folder) / f"run{run}.sqlite3"
            shutil.copy(office_copy, again)
            async with TortoiseContext() as context:
                await context.init(config=tortoise_config(f"sqlite://{again}"))
                started = time.perf_counter()
                rerun = await import_file(data, source="bench", chunk_size=chunk_size)
                seconds = time.perf_counter() - started
            base, _ = baseline_executemany(again, Path(folder) / f"baseline{run}.sqlite3")
            ratios.append(base / seconds)
            print(
                f"run {run}: import {seconds:.2f} s ({rerun.counts.read:,} entries), "
                f"executemany {base:.2f} s",
                file=sys.stderr,
            )

    counts = report.counts
    rate = counts.read / import_seconds
    baseline_rate = counts.read / baseline_seconds
    print(
        f"\nimported {counts.read:,} entries: {counts.matched:,} matched, {counts.unmatched:,} "
        f"unmatched, {counts.ignored:,} ignored ({report.outcome.value})\n"
    )
    rows = [
        ("import, entries/s (whole file: read, match, write)", f"{rate:,.0f}", ""),
        (
            f"plain sqlite3.executemany of the same {baseline_rows:,} rows, entries/s",
            f"{baseline_rate:,.0f}",
            "",
        ),
        (
            f"import ÷ executemany, median of {len(ratios)} runs (each run's)",
            f"{100 * statistics.median(ratios):.0f} % "
            f"({', '.join(f'{100 * r:.0f}' for r in ratios)} %)",
            "≥ 25 %",
        ),
        ("import wall time", f"{import_seconds:.1f} s", ""),
        (
            "the same import while this process serves lookups back to back, entries/s",
            f"{entries / loaded_seconds:,.0f}",
            "",
        ),
        ("RSS before the import (demo office loaded, file in memory)", f"{rss_before:.0f} MiB", ""),
        ("peak RSS during the import", f"{rss_after:.0f} MiB", ""),
        ("peak RSS growth during the import", f"{rss_after - rss_before:.0f} MiB", ""),
        ("tenant(code) lookups during the import (same process)", f"{len(samples):,}", ""),
        ("lookup p50, import in the same process", f"{statistics.median(samples):.1f} ms", ""),
        (
            "lookup p95, import in the same process",
            f"{percentile(samples, 0.95):.1f} ms",
            "≤ 50 ms",
        ),
        ("lookup max, import in the same process", f"{max(samples):.1f} ms", ""),
        (
            f"push → new balance via tenant(code), p50 ({pushes} pushes)",
            f"{statistics.median(pushes_ms):.1f} ms",
            "",
        ),
        ("push → new balance, p99", f"{percentile(pushes_ms, 0.99):.1f} ms", "≤ 1000 ms"),
    ]
    cli_rows = [
        (
            "`regie import` of as many entries in another process, wall time",
            f"{cli_seconds:.1f} s ({entries / max(cli_seconds, 1e-9):,.0f} entries/s)",
            "",
        ),
        (
            "lookup p50, import by `regie import` in another process",
            f"{statistics.median(cli_samples or [0]):.1f} ms",
            "",
        ),
        (
            "lookup p95, import by `regie import` in another process",
            f"{percentile(cli_samples or [0], 0.95):.1f} ms",
            "≤ 50 ms",
        ),
        (
            "lookup max, import by `regie import` in another process",
            f"{max(cli_samples or [0]):.1f} ms",
            "",
        ),
    ]
    rows[12:12] = cli_rows if cli_samples else []
    sizes = sorted(report.chunk_sizes) or [0]
    chunking = (
        f"{chunk_size}"
        if chunk_size is not None
        else f"{statistics.median(sizes):,.0f} (median; {sizes[0]:,}–{sizes[-1]:,}, "
        f"sized to {OWN_CONNECTION_TRANSACTION_SECONDS * 1000:.0f} ms transactions)"
    )
    rows.insert(0, ("entries per transaction (chunk)", chunking, ""))
    print("| measure | value | target |")
    print("|---|---:|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--dwellings", type=int, default=3500)
    parser.add_argument("--pushes", type=int, default=300)
    parser.add_argument(
        "--chunk", type=int, default=None, help="entries per transaction (default: adaptive)"
    )
    parser.add_argument("--no-cli", action="store_true", help="skip the other-process import")
    parser.add_argument(
        "--runs", type=int, default=5, help="import/executemany pairs measured (median ratio)"
    )
    options = parser.parse_args()
    asyncio.run(
        main(
            options.entries,
            options.dwellings,
            options.pushes,
            options.chunk,
            not options.no_cli,
            max(1, options.runs),
        )
    )
