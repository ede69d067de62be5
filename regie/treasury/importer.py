"""Importing a bank or treasury file: read it (``readers``), then apply it (``services.imports``).

A large file is read by a child process (:mod:`regie.treasury.reading`) while its records are
applied; a small one by a thread of this process.

The file's bytes are all this module gets: a client-supplied file name is kept for display only,
never used as a path. A file larger than :data:`MAX_FILE_BYTES`, or one a reader refuses as a
whole (not a supported format, a DOCTYPE, a statement that does not balance …), changes nothing
and is reported as refused with the reader's reason.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
from collections.abc import Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

from regie.db.imports import ImportChannel
from regie.services import imports
from regie.treasury.readers import read_any
from regie.treasury.reading import ChildReader
from regie.treasury.records import (
    BankEntry,
    FileHeader,
    ReadResult,
    RejectedEntry,
    StructuralError,
)

MAX_FILE_BYTES = 50 * 1024 * 1024
CHILD_READER_FROM_BYTES = 1024 * 1024
"""Files from this size are read by a child process (:mod:`regie.treasury.reading`), in parallel
with the import and away from the requests this process serves; smaller ones, read in a moment,
by a thread (starting a process costs about a tenth of a second)."""
MAX_MESSAGE_KEY = 250
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def display_name(name: str | None) -> str | None:
    """A client's file name, reduced to something safe to show: no folders, no control characters."""
    if not name:
        return None
    base = re.split(r"[\\/]", name)[-1]
    cleaned = _CONTROL.sub("", base).strip()[:200]
    return cleaned or None


def message_key(header: FileHeader) -> str:
    """What makes two files 'the same message': format, message id and page."""
    key = f"{header.format}|{header.message_id}"
    if header.pagination is not None:
        key += f"|page {header.pagination.page_number}"
    if len(key) > MAX_MESSAGE_KEY:
        key = f"{header.format}|sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return key


def estimate_records(data: bytes, format: str) -> int:
    """Roughly how many records a file holds, for a progress bar (cheap: counts markers)."""
    return _Markers.of(data).estimated_records(format)


@dataclass(frozen=True)
class _Markers:
    """What tells roughly how many records a file holds, whatever its format turns out to be."""

    size: int
    transactions: int  # camt <TxDtls>
    entries: int  # camt <Ntry>
    lines: int

    @classmethod
    def of(cls, data: bytes) -> _Markers:
        return cls(len(data), data.count(b"<TxDtls>"), data.count(b"<Ntry>"), data.count(b"\n"))

    def estimated_records(self, format: str) -> int:
        if format.startswith("camt"):
            return max(self.transactions, self.entries)
        if format == "cfonb120":
            return max(1, self.size // 121 // 3)
        return self.lines


@dataclass(frozen=True)
class _FileFacts:
    """What an import needs to know of a file's bytes besides its records: its digest (what
    makes two files the same) and, for a progress display, its markers."""

    sha256: str
    markers: _Markers | None

    @classmethod
    def of(cls, data: bytes, *, progress: bool) -> _FileFacts:
        # Counting the markers scans the whole file three times (a tenth of a second of CPU on
        # a large one, while the interpreter lock is held): only a progress display needs them.
        markers = _Markers.of(data) if progress else None
        return cls(hashlib.sha256(data).hexdigest(), markers)

    def estimated_records(self, format: str) -> int:
        return 0 if self.markers is None else self.markers.estimated_records(format)


async def import_file(
    data: bytes,
    *,
    source: str,
    file_name: str | None = None,
    format: str | None = None,
    user_id: int | None = None,
    progress: imports.Progress | None = None,
    chunk_size: int | None = None,
    child_reader_from_bytes: int = CHILD_READER_FROM_BYTES,
) -> imports.ImportReport:
    name = display_name(file_name)
    if len(data) > MAX_FILE_BYTES:
        return imports.ImportReport(
            imports.Outcome.REFUSED,
            f"The file is {len(data):,} bytes long, more than the {MAX_FILE_BYTES:,} accepted.",
        )
    loop = asyncio.get_running_loop()
    if len(data) >= child_reader_from_bytes:
        # Worked out in a thread while the children start and check the file (a tenth of a
        # second on a large file, which the import would otherwise wait for once it is checked).
        facts = loop.run_in_executor(
            None, functools.partial(_FileFacts.of, data, progress=progress is not None)
        )
        try:
            verdict, child = await ChildReader.begin(data, format)
        except (StructuralError, ValueError) as error:  # ValueError: an unknown --format
            await asyncio.wait([facts])
            return _refused(error, format)
        # The first records are matched while the file is checked (nothing is written before).
        early = imports.EarlyMatching(child) if child.reads_ahead else None
        try:
            try:
                header = await verdict
            except (StructuralError, ValueError) as error:
                await asyncio.wait([facts])
                return _refused(error, format)
            return await _apply(
                header, child, None, await facts, source, name, user_id, progress, chunk_size,
                early,
            )  # fmt: skip
        finally:
            if early is not None:
                await early.cancel()  # nothing, once the import has taken what it matched
            if not verdict.done():
                verdict.cancel()
                await asyncio.wait([verdict])
            await child.close()
    # One reading thread per file: lxml parsers must stay in the thread that created them.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="regie-reader") as reader:
        try:
            result: ReadResult = await loop.run_in_executor(reader, read_any, data, format)
        except (StructuralError, ValueError) as error:  # ValueError: an unknown --format
            return _refused(error, format)
        try:
            return await _apply(
                result.header, result.entries, reader,
                _FileFacts.of(data, progress=progress is not None), source, name, user_id,
                progress, chunk_size,
            )  # fmt: skip
        finally:
            # Finish the reader's generator in its own thread too, however the import ended.
            close = getattr(result.entries, "close", None)
            if close is not None:
                await loop.run_in_executor(reader, close)


def _refused(error: Exception, format: str | None) -> imports.ImportReport:
    """The report of a file its reader refused (StructuralError; ValueError: an unknown format)."""
    return imports.ImportReport(imports.Outcome.REFUSED, f"Refused: {error}", format=format)


async def _apply(
    header: FileHeader,
    records: Iterable[BankEntry | RejectedEntry] | imports.RecordSource,
    reader: Executor | None,
    facts: _FileFacts,
    source: str,
    name: str | None,
    user_id: int | None,
    progress: imports.Progress | None,
    chunk_size: int | None,
    early: imports.EarlyMatching | None = None,
) -> imports.ImportReport:
    request = imports.ImportRequest(
        channel=ImportChannel.FILE,
        format=header.format,
        message_id=header.message_id,
        message_key=message_key(header),
        content_sha256=facts.sha256,
        source=source,
        file_name=name,
        user_id=user_id,
    )
    report = await imports.run_import(
        request,
        records,
        expected_records=facts.estimated_records(header.format),
        progress=progress,
        chunk_size=chunk_size,
        reader=reader,
        early=early,
    )
    report.format = header.format
    return report
