"""Recognise a file's format from its content, and dispatch to the reader for it.

Formats are plug-ins: `register_format` adds a reader and, optionally, a detector (a PES V2 Retour
reader will be added this way). Detectors only look at the beginning of the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from regie.treasury.readers import camt
from regie.treasury.readers.xml_safety import sniff_encoding
from regie.treasury.records import BankEntry, ReadResult, RejectedEntry, StructuralError

Reader = Callable[[bytes], ReadResult]
Detector = Callable[[bytes], str | None]

_HEAD = 64 * 1024
_READERS: dict[str, Reader] = {}
_DETECTORS: list[Detector] = []


def register_format(name: str, reader: Reader, detector: Detector | None = None) -> None:
    """Make `name` readable by `read_any`, and recognisable if a `detector` is given."""
    _READERS[name] = reader
    if detector is not None and detector not in _DETECTORS:
        _DETECTORS.append(detector)


def supported_formats() -> tuple[str, ...]:
    return tuple(_READERS)


def detect_format(data: bytes) -> str:
    """The name of the format of `data` ("camt.054", "camt.053", "cfonb120", "csv" …).

    Raises `StructuralError` when no registered format recognises the content.
    """
    for detector in _DETECTORS:
        name = detector(data)
        if name is not None:
            return name
    if _xml_head(data) is not None:
        raise StructuralError(
            "The XML document is not a supported message: its root element has no camt.053 or "
            "camt.054 namespace."
        )
    raise StructuralError(
        "The file format is not recognised: it is neither camt.053/camt.054 XML, a CFONB 120 "
        "statement starting with an old-balance record 01, nor a CSV file with a header row."
    )


def read_any(data: bytes, format: str | None = None) -> ReadResult:
    """Read `data` in the given format, or in the detected one when `format` is None."""
    name = format if format is not None else detect_format(data)
    reader = _READERS.get(name)
    if reader is None:
        raise ValueError(f"Unknown format {name!r}; known formats: {', '.join(_READERS)}.")
    return reader(data)


_CAMT = ("camt.054", "camt.053")


def entries_read_apart(data: bytes, format: str | None = None) -> bool:
    """Whether `read_entries` reads the entries of `data` without checking its structure (camt:
    the structural pass is a walk of its own, which `read_any` runs first)."""
    try:
        name = format if format is not None else detect_format(data)
    except StructuralError:
        return False
    return name in _CAMT


def read_entries(data: bytes, format: str | None = None) -> Iterator[BankEntry | RejectedEntry]:
    """The records `read_any(data, format).entries` hands out, without the structural checks
    where they are a pass of their own (`entries_read_apart`): for a reader running alongside
    another that checks the file (`read_any`), whose verdict must come before anything read here
    is used. Where the checks cannot be left out, they run first, as in `read_any`."""
    name = format if format is not None else detect_format(data)
    if name in _CAMT:
        return camt.read_entries(data)
    return read_any(data, name).entries


# --- the CFONB and CSV readers, imported when first needed -----------------------------------------
#
# A large camt file is read by two child processes (`regie.treasury.reading_child`), which would
# otherwise spend a tenth of their start-up importing these two modules for nothing.

_CFONB120, _CSV = "cfonb120", "csv"  # `cfonb120.FORMAT` and `csv_format.FORMAT`


def _read_cfonb120(data: bytes) -> ReadResult:
    from regie.treasury.readers import cfonb120

    return cfonb120.read(data)


def _read_csv(data: bytes) -> ReadResult:
    from regie.treasury.readers import csv_format

    return csv_format.read(data)


# --- detectors ------------------------------------------------------------------------------------


def _xml_head(data: bytes) -> str | None:
    """The beginning of `data` as text if it looks like XML, else None."""
    try:
        codec, bom_length = sniff_encoding(data)
    except StructuralError:
        return None
    head = data[bom_length : bom_length + _HEAD].decode(codec, errors="replace")
    return head if head.lstrip().startswith("<") else None


def detect_camt(data: bytes) -> str | None:
    head = _xml_head(data)
    if head is None:
        return None
    match = camt.NAMESPACE.search(head)
    return None if match is None else f"camt.{match[1]}"


def detect_cfonb120(data: bytes) -> str | None:
    from regie.treasury.readers import cfonb120  # when first needed (see above)

    head = data[:_HEAD].removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    first = re.split(r"\r\n|\r|\n", head, maxsplit=1)[0]
    if len(first) > cfonb120.RECORD_LENGTH and first == head:
        first = first[: cfonb120.RECORD_LENGTH]  # no line separators: fixed-size records
    looks_right = (
        len(first) == cfonb120.RECORD_LENGTH
        and first.startswith(cfonb120.OLD_BALANCE)
        and first[2:7].isdigit()  # bank code
        and first[90:103].isdigit()  # balance digits
    )
    return cfonb120.FORMAT if looks_right else None


def detect_csv(data: bytes) -> str | None:
    head = data[:_HEAD].removeprefix(b"\xef\xbb\xbf")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The cut may fall inside a character; otherwise it is Windows-1252.
        text = head.decode("utf-8" if exc.start >= len(head) - 3 else "cp1252", errors="replace")
    first = next((line for line in text.splitlines() if line.strip()), "")
    from regie.treasury.readers import csv_format  # when first needed (see above)

    return csv_format.FORMAT if csv_format.recognises_header(first) else None


register_format("camt.054", lambda data: camt.read(data, expected="camt.054"), detect_camt)
register_format("camt.053", lambda data: camt.read(data, expected="camt.053"), detect_camt)
register_format(_CFONB120, _read_cfonb120, detect_cfonb120)
register_format(_CSV, _read_csv, detect_csv)
