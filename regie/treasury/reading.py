"""Reading a large file in a child process, its records handed over while they are applied.

Parsing is CPU work: in a thread of the importing process it competes with the import itself and
with every request that process serves (one interpreter lock), and a 100,000-entry camt file took
as long to read as to apply. The child (``python -m regie.treasury.reading_child``, a module of its
own so that it does not import what only this side needs, such as asyncio) gets a mode, the
format and a file descriptor holding the file's bytes on its command line, runs the same readers
(:mod:`regie.treasury.readers`) and writes frames on its standard output. The pipe's buffers bound
how far it reads ahead.

The bytes are handed over in an anonymous in-memory file (``memfd_create``; elsewhere an unlinked
temporary file) that each child reads from its start: pushed through each child's standard input,
47 MB cost this process's event loop a fifth of a second, during which neither child could begin.

A camt file is read by two children at once: one runs the structural checks (well-formed, the
message and its balances) and reports the header or the refusal, while the other reads the
entries from the start. Nothing is applied before the first one has accepted the whole file, but
the entries are read, and the first ones matched (:class:`regie.services.imports.EarlyMatching`),
meanwhile: the checks used to come first in one child, a fifth of a second during which the
import could do nothing. Other formats are read by one child doing both, the checks first (their
records come out of the same pass).

Frames are a 4-byte little-endian length and a :mod:`marshal` payload (plain tuples: nothing but our
own child's output is ever decoded, and marshal decodes ten times faster than pickling the records):

- ``("header", <pickled FileHeader>)`` or ``("refused", <exception name>, <message>)`` first,
  except from the child that reads the entries only;
- ``("records", [record, …])`` as many times as needed, each record a tuple
  (:func:`regie.treasury.reading_child.pack`), except from the child that checks only;
- ``("end",)`` last.
"""

from __future__ import annotations

import asyncio
import contextlib
import marshal
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from regie.treasury.readers import entries_read_apart
from regie.treasury.reading_child import BOTH, CHECK, ENTRIES, LENGTH, Record, unpack
from regie.treasury.records import FileHeader, StructuralError

_Stream = TypeVar("_Stream")

# Where the ``regie`` package lives, for the child's import path (a checkout need not be installed).
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD_MODULE = "regie.treasury.reading_child"
READ_AHEAD_BYTES = 4 * 1024 * 1024
"""How much of the child's output may wait in this process (about 20,000 records)."""


class ChildReaderFailed(RuntimeError):
    """The reading process ended without finishing the file (killed, out of memory …)."""


class ChildReader:
    """The records of a file read by a child process (a :class:`regie.services.imports.RecordSource`)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._buffer: list[Record] = []
        self._ended = False
        self.reads_ahead = False
        """Whether its records may be taken before the checks' verdict (see :meth:`begin`)."""

    @classmethod
    async def start(cls, data: bytes, format_name: str | None) -> tuple[FileHeader, ChildReader]:
        """Start reading ``data``; returns the header once the whole file passed the structural
        checks. Raises what the reader raised (StructuralError, ValueError) when it refused it."""
        verdict, reader = await cls.begin(data, format_name)
        try:
            return await verdict, reader
        except BaseException:
            await reader.close()
            raise

    @classmethod
    async def begin(
        cls, data: bytes, format_name: str | None
    ) -> tuple[asyncio.Task[FileHeader], ChildReader]:
        """Start reading ``data``; returns the structural checks' verdict to come (a task whose
        result is the header, or which raises what the reader raised: StructuralError,
        ValueError) and the reader of the records. The caller closes the reader.

        A camt file's entries are read by a child of their own (``reads_ahead``): its records
        may be taken, and matched, while the other child is still checking the file; nothing
        may be written before the verdict. Otherwise the records follow the verdict in the same
        child's output, and are taken after it.
        """
        entries_apart = entries_read_apart(data, format_name)
        shared = _shared_copy(data)
        try:
            checker = await cls._spawn(CHECK if entries_apart else BOTH, format_name, shared)
            reader = checker
            if entries_apart:
                try:
                    reader = await cls._spawn(ENTRIES, format_name, shared)
                except BaseException:
                    await checker.close()
                    raise
        finally:
            os.close(shared)  # each child holds its own descriptor now
        reader.reads_ahead = entries_apart
        return asyncio.create_task(checker._verdict(closes=entries_apart)), reader

    async def _verdict(self, *, closes: bool) -> FileHeader:
        """The checks' verdict, the first frame of this child; ``closes``: the child's only work
        (it checks only), which ends with it."""
        try:
            frame = await self._frame()
            if frame[0] == "refused":
                _, kind, message = frame
                raise (StructuralError if kind == "StructuralError" else ValueError)(message)
            header: FileHeader = pickle.loads(frame[1])  # noqa: S301 - our own child's output
            return header
        finally:
            if closes:
                await self.close()

    @classmethod
    async def _spawn(cls, mode: str, format_name: str | None, shared: int) -> ChildReader:
        path = os.environ.get("PYTHONPATH")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", _CHILD_MODULE, mode, format_name or "", str(shared),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            pass_fds=(shared,),
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, path]))},
            limit=READ_AHEAD_BYTES // 2,  # the stream stops reading the pipe at twice this
        )  # fmt: skip
        return cls(process)

    async def _frame(self) -> tuple[Any, ...]:
        stdout = _pipe(self._process.stdout)
        try:
            (length,) = LENGTH.unpack(await stdout.readexactly(LENGTH.size))
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
            elif frame[0] == "refused":  # only if the checks and the entries disagree
                raise ChildReaderFailed(f"The file reader failed: {frame[1]}: {frame[2]}")
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


def _shared_copy(data: bytes) -> int:
    """A file descriptor holding ``data``, for the children to read (see the module docstring):
    an anonymous in-memory file where the system has them (Linux), else an unlinked temporary
    file. The caller closes it."""
    shared: int | None = None
    if hasattr(os, "memfd_create"):
        with contextlib.suppress(OSError):  # a sandbox may refuse the call
            shared = os.memfd_create("regie-import", os.MFD_CLOEXEC)
    if shared is None:
        with tempfile.TemporaryFile() as file:
            shared = os.dup(file.fileno())  # the file lives on while this descriptor is open
    try:
        view, written = memoryview(data), 0
        while written < len(data):
            written += os.write(shared, view[written:])
    except BaseException:
        os.close(shared)
        raise
    return shared
