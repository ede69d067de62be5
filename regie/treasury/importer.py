"""Importing a bank or treasury file: read it (``readers``), then apply it (``services.imports``).

The file's bytes are all this module gets: a client-supplied file name is kept for display only,
never used as a path. A file larger than :data:`MAX_FILE_BYTES`, or one a reader refuses as a
whole (not a supported format, a DOCTYPE, a statement that does not balance …), changes nothing
and is reported as refused with the reader's reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from concurrent.futures import Executor, ThreadPoolExecutor

from regie.db.imports import ImportChannel
from regie.services import imports
from regie.treasury.readers import read_any
from regie.treasury.records import FileHeader, ReadResult, StructuralError

MAX_FILE_BYTES = 50 * 1024 * 1024
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
    if format.startswith("camt"):
        return max(data.count(b"<TxDtls>"), data.count(b"<Ntry>"))
    if format == "cfonb120":
        return max(1, len(data) // 121 // 3)
    return data.count(b"\n")


async def import_file(
    data: bytes,
    *,
    source: str,
    file_name: str | None = None,
    format: str | None = None,
    user_id: int | None = None,
    progress: imports.Progress | None = None,
    chunk_size: int = imports.CHUNK_SIZE,
) -> imports.ImportReport:
    name = display_name(file_name)
    if len(data) > MAX_FILE_BYTES:
        return imports.ImportReport(
            imports.Outcome.REFUSED,
            f"The file is {len(data):,} bytes long, more than the {MAX_FILE_BYTES:,} accepted.",
        )
    # One reading thread per file: lxml parsers must stay in the thread that created them.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="regie-reader") as reader:
        loop = asyncio.get_running_loop()
        try:
            result: ReadResult = await loop.run_in_executor(reader, read_any, data, format)
        except (StructuralError, ValueError) as error:  # ValueError: an unknown --format
            return imports.ImportReport(imports.Outcome.REFUSED, f"Refused: {error}", format=format)
        return await _apply(result, data, source, name, user_id, progress, chunk_size, reader)


async def _apply(
    result: ReadResult,
    data: bytes,
    source: str,
    name: str | None,
    user_id: int | None,
    progress: imports.Progress | None,
    chunk_size: int,
    reader: Executor,
) -> imports.ImportReport:
    header = result.header
    request = imports.ImportRequest(
        channel=ImportChannel.FILE,
        format=header.format,
        message_id=header.message_id,
        message_key=message_key(header),
        content_sha256=hashlib.sha256(data).hexdigest(),
        source=source,
        file_name=name,
        user_id=user_id,
    )
    try:
        report = await imports.run_import(
            request,
            result.entries,
            expected_records=estimate_records(data, header.format),
            progress=progress,
            chunk_size=chunk_size,
            reader=reader,
        )
    finally:
        # Finish the reader's generator in its own thread too, however the import ended.
        close = getattr(result.entries, "close", None)
        if close is not None:
            await asyncio.get_running_loop().run_in_executor(reader, close)
    report.format = header.format
    return report
