"""Refuse hostile XML before lxml sees it, and parse what remains with a locked-down parser.

No legitimate bank file has a document type declaration. With `resolve_entities=False` lxml
silently drops an entity reference instead of failing, which would quietly change the data read,
so any `<!DOCTYPE` or `<!ENTITY` is refused outright rather than neutralised (billion laughs, XXE).
Encodings are limited to a known list because an exotic one (UTF-7, EBCDIC …) could hide a
declaration from a byte-level check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, cast

from lxml import etree

from regie.treasury.records import StructuralError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# The prolog (declaration, comments, processing instructions) of a real file is a few hundred bytes.
_PROLOG_WINDOW = 64 * 1024
_ALLOWED_ENCODINGS = frozenset(
    {
        "utf-8",
        "utf8",
        "utf-16",
        "utf-16le",
        "utf-16be",
        "us-ascii",
        "ascii",
        "iso-8859-1",
        "latin-1",
        "latin1",
        "iso-8859-15",
        "windows-1252",
        "cp1252",
    }
)
_DECLARED_ENCODING = re.compile(r"""encoding\s*=\s*["']([^"']*)["']""")
_FORBIDDEN = ("<!DOCTYPE", "<!ENTITY")


def check_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Raise `StructuralError` unless `data` is an XML document of acceptable size and prolog."""
    if len(data) > max_bytes:
        raise StructuralError(
            f"The file is {len(data)} bytes long, more than the {max_bytes} bytes accepted."
        )
    codec, bom_length = sniff_encoding(data)
    prolog = data[bom_length : bom_length + _PROLOG_WINDOW].decode(codec, errors="replace")
    _check_prolog(prolog, truncated=len(data) - bom_length > _PROLOG_WINDOW)
    # A declaration cannot legally appear after the prolog either; searching the whole document
    # costs little and leaves no room for a parser more lenient than this scanner.
    if codec == "latin-1":  # any ASCII-compatible encoding (see sniff_encoding)
        found = markup_in(data, bom_length, [marker.encode() for marker in _FORBIDDEN])
        if found is not None:
            raise StructuralError(
                f"The XML document contains '{found.decode()}', which is not accepted."
            )
        return
    for marker in _FORBIDDEN:
        if data.find(marker.encode(codec), bom_length) != -1:
            raise StructuralError(f"The XML document contains '{marker}', which is not accepted.")


def markup_in(data: bytes, start: int, openers: Iterable[bytes]) -> bytes | None:
    """One of ``openers`` (``<!``, ``<?DOCTYPE`` …: a '<' and a rarer second byte) found in the
    ASCII-compatible ``data`` from ``start``, or None.

    Their second byte is searched for, and each one found looked at: a search for one byte runs
    several times quicker than for several, whose first byte, '<', is everywhere in XML.
    """
    by_second: dict[bytes, list[bytes]] = {}
    for opener in openers:
        by_second.setdefault(opener[1:2], []).append(opener)
    for second, same in by_second.items():
        position = data.find(second, start + 1)
        while position != -1:
            found = next((o for o in same if data.startswith(o, position - 1)), None)
            if found is not None:
                return found
            position = data.find(second, position + 1)
    return None


def sniff_encoding(data: bytes) -> tuple[str, int]:
    """Return a codec able to read the markup of `data` and the length of its byte order mark.

    Byte-compatible single-byte codecs are all read as latin-1: the scan only looks at ASCII markup.
    """
    if data.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")):
        raise StructuralError("The XML document is encoded in UTF-32, which is not accepted.")
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8", 3
    if data.startswith(b"\xff\xfe"):
        return "utf-16-le", 2
    if data.startswith(b"\xfe\xff"):
        return "utf-16-be", 2
    if data.startswith(b"<\x00"):
        return "utf-16-le", 0
    if data.startswith(b"\x00<"):
        return "utf-16-be", 0
    return "latin-1", 0


def _check_prolog(text: str, *, truncated: bool) -> None:
    position = _skip_space(text, 0)
    if not text.startswith("<", position):
        raise StructuralError("The file is not an XML document: it does not start with '<'.")
    if text.startswith("<?xml", position):
        end = _find_end(text, position, "?>", "XML declaration")
        _check_declared_encoding(text[position:end])
        position = end + 2
    while True:
        position = _skip_space(text, position)
        if position >= len(text):
            if truncated:
                raise StructuralError(
                    f"The XML prolog is longer than {_PROLOG_WINDOW} characters, "
                    "which is not accepted."
                )
            raise StructuralError("The XML document has no root element.")
        if text.startswith("<!--", position):
            position = _find_end(text, position, "-->", "comment") + 3
        elif text.startswith("<?", position):
            position = _find_end(text, position, "?>", "processing instruction") + 2
        elif text.startswith("<!", position):
            head = text[position : position + 9].upper()
            marker = next((m for m in _FORBIDDEN if head.startswith(m)), None)
            if marker is not None:
                raise StructuralError(
                    f"The XML document declares '{marker}' in its prolog, which is not accepted."
                )
            raise StructuralError("The XML prolog contains an unexpected '<!' declaration.")
        elif text.startswith("<", position):
            return
        else:
            raise StructuralError("The XML document has text before its root element.")


def _check_declared_encoding(declaration: str) -> None:
    match = _DECLARED_ENCODING.search(declaration)
    if match is not None and match[1].strip().lower() not in _ALLOWED_ENCODINGS:
        raise StructuralError(f"The XML encoding '{match[1]}' is not accepted.")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _find_end(text: str, start: int, terminator: str, what: str) -> int:
    end = text.find(terminator, start)
    if end == -1:
        raise StructuralError(f"The XML prolog has an unterminated {what}.")
    return end


SAFE_PARSER_OPTIONS: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
"""Every lxml parser of bank files: entity resolution, network access and DTD loading off. Call
`check_xml` on the bytes first: these options are a second line of defence, not the first."""


def safe_parser(target: object | None = None) -> etree.XMLParser:
    """An `lxml.etree.XMLParser` with `SAFE_PARSER_OPTIONS` (and `target`, when given)."""
    if target is None:
        return etree.XMLParser(**SAFE_PARSER_OPTIONS)
    return etree.XMLParser(target=target, **SAFE_PARSER_OPTIONS)


def safe_iterparse(
    source: IO[bytes], *, events: Sequence[str], tags: Sequence[str] | None = None
) -> Iterator[tuple[str, Any]]:
    """`lxml.etree.iterparse` with `SAFE_PARSER_OPTIONS`."""
    return cast(
        Iterator[tuple[str, Any]],
        etree.iterparse(
            source,
            events=tuple(events),
            tag=None if tags is None else list(tags),
            **SAFE_PARSER_OPTIONS,
        ),
    )
