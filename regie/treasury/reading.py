"""Reading a large file in a child process, its records handed over while they are applied.

Parsing is CPU work: in a thread of the importing process it competes with the import itself and
with every request that process serves (one interpreter lock), and a 100,000-entry camt file took
as long to read as to apply. The child (``python -m regie.treasury.reading``) gets the file's bytes
on its standard input and runs the same readers (:func:`regie.treasury.readers.read_any`): the
structural checks first, so a broken file is refused before any record is sent, then the records,
in frames, on its standard output. The pipe's buffers bound how far it reads ahead.

Frames are a 4-byte little-endian length and a :mod:`marshal` payload (plain tuples: nothing but our
own child's output is ever decoded, and marshal decodes ten times faster than pickling the records):

- ``("header", <pickled FileHeader>)`` or ``("refused", <exception name>, <message>)`` first;
- ``("records", [record, …])`` as many times as needed, each record a tuple (:func:`pack`);
- ``("end",)`` last.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import marshal
import os
import pickle
import struct
import sys
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from regie.treasury.records import BankEntry, FileHeader, RejectedEntry, StructuralError

Record = BankEntry | RejectedEntry
_Stream = TypeVar("_Stream")

_LENGTH = struct.Struct("<I")
# Where the ``regie`` package lives, for the child's import path (a checkout need not be installed).
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
FRAME_RECORDS = 250
"""Records per frame: large enough that framing costs nothing, small enough to start applying soon."""
_WRITE_PIECE = 256 * 1024
READ_AHEAD_BYTES = 4 * 1024 * 1024
"""How much of the child's output may wait in this process (about 20,000 records)."""

_FIELDS = tuple(f.name for f in fields(BankEntry))
_BOOKING, _VALUE = _FIELDS.index("booking_date"), _FIELDS.index("value_date")
_REJECTED = "R"


def pack(record: Record) -> tuple[Any, ...]:
    """A record as plain values marshal can carry: dates as ordinals."""
    if isinstance(record, RejectedEntry):
        return (_REJECTED, record.position, record.reason)
    values = [getattr(record, name) for name in _FIELDS]
    for index in (_BOOKING, _VALUE):
        if values[index] is not None:
            values[index] = values[index].toordinal()
    return tuple(values)


def unpack(values: tuple[Any, ...]) -> Record:
    if values[0] == _REJECTED and len(values) == 3:
        return RejectedEntry(values[1], values[2])
    fields_ = list(values)
    for index in (_BOOKING, _VALUE):
        if fields_[index] is not None:
            fields_[index] = _day(fields_[index])
    return BankEntry(*fields_)


@functools.lru_cache(maxsize=4096)
def _day(ordinal: int) -> date:
    # A file books its entries on a few dozen days.
    return date.fromordinal(ordinal)


# --- the child -----------------------------------------------------------------------------------


def _write_frame(out: BinaryIO, payload: tuple[Any, ...]) -> None:
    body = marshal.dumps(payload)
    out.write(_LENGTH.pack(len(body)))
    out.write(body)


def child_main(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Read the format line and the file from ``stdin``; write frames to ``stdout``."""
    from regie.treasury.readers import read_any

    format_name = stdin.readline().decode().strip() or None
    data = stdin.read()
    try:
        result = read_any(data, format_name)
    except (StructuralError, ValueError) as error:
        _write_frame(stdout, ("refused", type(error).__name__, str(error)))
        stdout.flush()
        return
    del data  # the reader keeps what it needs
    _write_frame(stdout, ("header", pickle.dumps(result.header)))
    batch: list[tuple[Any, ...]] = []
    for record in result.entries:
        batch.append(pack(record))
        if len(batch) == FRAME_RECORDS:
            _write_frame(stdout, ("records", batch))
            batch = []
    if batch:
        _write_frame(stdout, ("records", batch))
    _write_frame(stdout, ("end",))
    stdout.flush()


# --- the parent ----------------------------------------------------------------------------------


class ChildReaderFailed(RuntimeError):
    """The reading process ended without finishing the file (killed, out of memory …)."""


class ChildReader:
    """The records of a file read by a child process (a :class:`regie.services.imports.RecordSource`)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._buffer: list[Record] = []
        self._ended = False

    @classmethod
    async def start(cls, data: bytes, format_name: str | None) -> tuple[FileHeader, ChildReader]:
        """Start reading ``data``; returns the header once the whole file passed the structural
        checks. Raises what the reader raised (StructuralError, ValueError) when it refused it."""
        path = os.environ.get("PYTHONPATH")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "regie.treasury.reading",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, path]))},
            limit=READ_AHEAD_BYTES // 2,  # the stream stops reading the pipe at twice this
        )  # fmt: skip
        reader = cls(process)
        try:
            stdin = _pipe(process.stdin)
            stdin.write((format_name or "").encode() + b"\n")
            # In pieces: what the pipe does not take at once is copied into the transport's buffer.
            view = memoryview(data)
            for offset in range(0, len(data), _WRITE_PIECE):
                stdin.write(view[offset : offset + _WRITE_PIECE])
                await stdin.drain()
            stdin.close()
            frame = await reader._frame()
            if frame[0] == "refused":
                _, kind, message = frame
                raise (StructuralError if kind == "StructuralError" else ValueError)(message)
            header = pickle.loads(frame[1])  # noqa: S301 - our own child's output
        except BaseException:
            await reader.close()
            raise
        return header, reader

    async def _frame(self) -> tuple[Any, ...]:
        stdout = _pipe(self._process.stdout)
        try:
            (length,) = _LENGTH.unpack(await stdout.readexactly(_LENGTH.size))
            frame = marshal.loads(await stdout.readexactly(length))  # noqa: S302 - our child's
        except asyncio.IncompleteReadError:
            code = await self._process.wait()
            raise ChildReaderFailed(
                f"The file reader stopped before the end of the file (exit status {code})."
            ) from None
        if not isinstance(frame, tuple) or not frame:
            raise ChildReaderFailed("The file reader sent something unexpected.")
        return frame

    async def take(self, count: int) -> list[Record]:
        while len(self._buffer) < count and not self._ended:
            frame = await self._frame()
            if frame[0] == "end":
                self._ended = True
            else:
                self._buffer.extend(unpack(values) for values in frame[1])
                await asyncio.sleep(0)  # a frame is a few milliseconds of work: let requests in
        taken = self._buffer[:count]
        del self._buffer[:count]
        return taken

    async def close(self) -> None:
        """Stop the child if it is still reading (the import ended early), and reap it."""
        if self._process.returncode is None and not self._ended:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        if self._process.stdout is not None:
            await self._process.stdout.read()  # what it wrote before it ended: the pipe closes
        await self._process.wait()


def _pipe(stream: _Stream | None) -> _Stream:
    if stream is None:  # pragma: no cover - both pipes are always asked for
        raise ChildReaderFailed("The file reader's pipe is missing.")
    return stream


if __name__ == "__main__":
    child_main(sys.stdin.buffer, sys.stdout.buffer)
