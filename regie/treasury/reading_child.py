"""The child process of :mod:`regie.treasury.reading`: its entry point and the frames it writes.

``python -m regie.treasury.reading_child MODE FORMAT FD`` reads the file's bytes from the file
descriptor ``FD`` (an in-memory file the parent wrote them to), runs the readers
(:mod:`regie.treasury.readers`) and writes frames on its standard output (the protocol is described in
:mod:`regie.treasury.reading`). Two such processes start for each large camt file, so this module
imports only what the child needs: not asyncio, which only the parent's side needs and which took
a quarter of the child's start-up (the CFONB and CSV readers are left out too, see
:mod:`regie.treasury.readers.detect`). `unpack`, the parent's half of the record format, stays
next to `pack` so that the two cannot drift apart.
"""

from __future__ import annotations

import functools
import marshal
import os
import pickle
import struct
import sys
from datetime import date
from typing import Any, BinaryIO

from regie.treasury.readers import read_any, read_entries
from regie.treasury.records import BankEntry, RejectedEntry, StructuralError

Record = BankEntry | RejectedEntry

LENGTH = struct.Struct("<I")
"""A frame's first four bytes: the length of its marshal payload."""
FRAME_RECORDS = 250
"""Records per frame: large enough that framing costs nothing, small enough to start applying soon."""

CHECK, ENTRIES, BOTH = "check", "entries", "both"
"""What a child does: the structural checks only, the entries only, or the checks then the
entries."""

_BOOKING, _VALUE = BankEntry._fields.index("booking_date"), BankEntry._fields.index("value_date")
_new_record = tuple.__new__
_REJECTED = "R"


def pack(record: Record) -> tuple[Any, ...]:
    """A record as plain values marshal can carry: dates as ordinals."""
    if isinstance(record, RejectedEntry):
        return (_REJECTED, record.position, record.reason)
    # A list changed in place and made a tuple again costs less than a tuple spliced from slices.
    values: list[Any] = list(record)
    booking, value = values[_BOOKING], values[_VALUE]
    if booking is not None:
        values[_BOOKING] = booking.toordinal()
    if value is not None:
        values[_VALUE] = value.toordinal()
    return tuple(values)


def unpack(values: tuple[Any, ...]) -> Record:
    """The record `pack` made `values` of (in the parent)."""
    if values[0] == _REJECTED and len(values) == 3:
        return RejectedEntry(values[1], values[2])
    fields_: list[Any] = list(values)
    booking, value = fields_[_BOOKING], fields_[_VALUE]
    if booking is not None:
        fields_[_BOOKING] = _day(booking)
    if value is not None:
        fields_[_VALUE] = _day(value)
    # tuple.__new__ builds it in C; `_make` is a Python function (100,000 calls a large file).
    return _new_record(BankEntry, fields_)


@functools.lru_cache(maxsize=4096)
def _day(ordinal: int) -> date:
    # A file books its entries on a few dozen days.
    return date.fromordinal(ordinal)


def _write_frame(out: BinaryIO, payload: tuple[Any, ...]) -> None:
    body = marshal.dumps(payload)
    out.write(LENGTH.pack(len(body)))
    out.write(body)


def read_shared(shared: int) -> bytes:
    """The whole content of the file descriptor ``shared``, read from its start. With ``pread``:
    the other child reads the same open file, whose offset both would otherwise move."""
    size = os.fstat(shared).st_size
    pieces: list[bytes] = []
    offset = 0
    while offset < size:
        piece = os.pread(shared, size - offset, offset)
        if not piece:
            break
        pieces.append(piece)
        offset += len(piece)
    os.close(shared)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def child_main(arguments: list[str], stdout: BinaryIO) -> None:
    """Read the file named by ``arguments`` (mode, format, file descriptor) and write frames to
    ``stdout``."""
    mode, format_name, shared = arguments
    data = read_shared(int(shared))
    try:
        if mode not in (CHECK, ENTRIES, BOTH):
            raise ValueError(f"The file reader was asked to {mode!r} a file.")
        if mode == ENTRIES:
            entries = read_entries(data, format_name or None)
        else:
            result = read_any(data, format_name or None)
            _write_frame(stdout, ("header", pickle.dumps(result.header)))
            entries = result.entries if mode == BOTH else iter(())
    except (StructuralError, ValueError) as error:
        _write_frame(stdout, ("refused", type(error).__name__, str(error)))
        stdout.flush()
        return
    del data  # the reader keeps what it needs
    batch: list[tuple[Any, ...]] = []
    try:
        for record in entries:
            batch.append(pack(record))
            if len(batch) == FRAME_RECORDS:
                _write_frame(stdout, ("records", batch))
                batch = []
    except Exception as error:  # told to the parent, which decides
        # Reading the entries alone, a file the other child refuses may fail here: the parent
        # reports that child's reason, and this one has nothing to add on the server's log.
        _write_frame(stdout, ("refused", type(error).__name__, str(error)))
        stdout.flush()
        return
    if batch:
        _write_frame(stdout, ("records", batch))
    _write_frame(stdout, ("end",))
    stdout.flush()


if __name__ == "__main__":
    child_main(sys.argv[1:], sys.stdout.buffer)
