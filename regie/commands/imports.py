"""``regie import FILE... [--format F]``: import bank and treasury files, print a summary per file.

Exit status 0 when every file was imported (or already was) without a rejected line; 1 when a file
was refused, conflicted, is being imported elsewhere, or had rejected lines; 2 on a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from regie.services import events, payers
from regie.services.imports import ImportReport, Outcome
from regie.settings import Settings
from regie.treasury import importer
from regie.treasury.readers.detect import supported_formats

Runner = Callable[[Callable[[], Awaitable[Any]]], Any]
Progress = Callable[[str], Callable[[int, int], None]]
PROGRESS_FROM_RECORDS = 2000
"""Files with at least this many records (estimated) get a progress bar."""
MAX_REASONS_SHOWN = 20
_COLUMNS = ("read", "new", "duplicates", "matched", "unmatched", "ignored", "pending", "rejected")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "import", help="import camt.054/053, CFONB 120 or CSV files (format detected)"
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="files to import, in order")
    parser.add_argument(
        "--format", choices=supported_formats(), help="force the format instead of detecting it"
    )


def run(
    args: argparse.Namespace, settings: Settings, in_database: Runner, progress: Progress
) -> int:
    if settings.iban_key:
        payers.use_key(settings.iban_key)

    async def work() -> list[tuple[str, ImportReport]]:
        broker = events.broker_from_url(settings.broker_url)
        events.use_broker(broker)
        try:
            return [(path, await _one(path, args.format, progress)) for path in args.files]
        finally:
            await broker.close()

    results: list[tuple[str, ImportReport]] = in_database(work)
    print(summary_table(results))
    for path, report in results:
        lines = [report.message] if report.outcome != Outcome.IMPORTED else []
        lines += [
            f"rejected {position}: {reason}"
            for position, reason in report.rejected[:MAX_REASONS_SHOWN]
        ]
        if report.counts.rejected > MAX_REASONS_SHOWN:
            lines.append(
                f"… and {report.counts.rejected - MAX_REASONS_SHOWN:,} more rejected lines"
            )
        for line in lines:
            print(f"{Path(path).name}: {line}")
    return (
        1
        if any(report.failed or report.outcome == Outcome.IN_PROGRESS for _, report in results)
        else 0
    )


async def _one(path: str, format: str | None, progress: Progress) -> ImportReport:
    try:
        size = os.stat(path).st_size
        if size > importer.MAX_FILE_BYTES:
            return ImportReport(
                Outcome.REFUSED,
                f"The file is {size:,} bytes long, more than the {importer.MAX_FILE_BYTES:,} accepted.",
            )
        data = await asyncio.to_thread(Path(path).read_bytes)
    except OSError as error:
        return ImportReport(Outcome.REFUSED, f"Cannot read the file: {error.strerror}.")
    estimate = importer.estimate_records(data, format or _guess(data))
    bar = progress(Path(path).name) if estimate >= PROGRESS_FROM_RECORDS else None
    started = time.monotonic()
    report = await importer.import_file(
        data, source="cli", file_name=Path(path).name, format=format, progress=bar
    )
    if bar is not None and report.outcome == Outcome.IMPORTED:
        sys.stderr.write(f"\n{Path(path).name}: {time.monotonic() - started:.1f} s\n")
    return report


def _guess(data: bytes) -> str:
    return "camt" if data.lstrip()[:1] == b"<" else "csv"


def summary_table(results: list[tuple[str, ImportReport]]) -> str:
    header = ("file", "format", "outcome", *_COLUMNS)
    rows = [
        (
            Path(path).name,
            report.format or "-",
            report.outcome.value.replace("_", " "),
            *(f"{getattr(report.counts, column):,}" for column in _COLUMNS),
        )
        for path, report in results
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        cells = [
            str(cell).ljust(width) if i < 3 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells)

    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])
