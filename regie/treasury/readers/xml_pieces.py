"""A long run of sibling elements (a camt file's entries) parsed a few hundred at a time, whole.

Streaming a document with lxml's ``iterparse`` calls back into Python, taking the interpreter lock,
at the start and at the end of every element, wanted or not: for a camt file's entries that is a
third of the parse. Parsed whole, a piece of a document makes no call back at all. So the runs of
entries are cut out of the document's bytes in pieces of a few hundred; what is left, the
*skeleton* (the group header, the reports, their accounts and balances), is streamed as before,
each piece replaced by an empty placeholder element; and when the stream reaches a placeholder,
its piece is parsed on its own, under the namespace declarations in scope at the placeholder.

Where the cuts are is found by searching the bytes for the element's start and end tags, which is
only sound when no comment, CDATA section or processing instruction follows the prolog (where a
tag's bytes would not be a tag): :meth:`Pieces.cut` does not cut such a document. A piece that
declares a namespace, or whose scope binds a prefix to the namespace read with bare names, is not
read as a piece either: some of its elements would not have the names looked for. Everything else
is checked by the parser: a piece whose bytes are not whole elements (an entry nested inside an
entry, an end tag written with a space) does not parse, and a skeleton whose placeholders are not
where entries may be does not either; the reader then raises :class:`CannotCut` and the caller
streams the document after all (see :func:`regie.treasury.readers.camt._entries`). A placeholder
only ever stands where its piece stood, so a piece is read exactly where its elements were; its
namespace holds a random token, so that no element of the document can pass for one.
"""

from __future__ import annotations

import secrets
from typing import Final

from lxml import etree

from regie.treasury.readers.xml_index import Element
from regie.treasury.readers.xml_safety import markup_in, safe_parser

PIECE_BYTES: Final = 128 * 1024
"""A piece's size, ended at the first end tag after it: a few hundred camt entries, enough that a
piece's own costs (its wrapper, a parser run) disappear, few enough that its tree stays small."""

_XML_ATTRIBUTE_ESCAPES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", '"': "&quot;"})


class CannotCut(Exception):
    """The document's pieces or skeleton did not parse as cut: it must be streamed."""


class Pieces:
    """A document cut into a skeleton and pieces of sibling elements of about :data:`PIECE_BYTES`."""

    __slots__ = ("_data", "_parser", "_prolog", "_spans", "_wrappers", "skeleton", "tag")

    def __init__(self, data: bytes, prolog: bytes, spans: list[tuple[int, int]]) -> None:
        self._data = data
        self._prolog = prolog
        self._spans = spans
        self._wrappers: dict[tuple[tuple[str, str], ...], tuple[bytes, bytes]] = {}
        self._parser = safe_parser()
        namespace = f"urn:regie:piece:{secrets.token_hex(16)}"
        self.tag = f"{{{namespace}}}p"
        """The placeholders' tag."""
        parts: list[bytes] = []
        previous = 0
        for index, (start, end) in enumerate(spans):
            parts.append(data[previous:start])
            parts.append(b'<rp:p xmlns:rp="%s" n="%d"/>' % (namespace.encode(), index))
            previous = end
        parts.append(data[previous:])
        self.skeleton = b"".join(parts)

    @classmethod
    def cut(
        cls, data: bytes, element: str, container: str, *, piece_bytes: int | None = None
    ) -> Pieces | None:
        """The runs of ``<element>`` inside each ``<container>`` cut out of ``data``, or None when
        there is nothing to cut or the bytes cannot be trusted to be tags (see the module).
        ``piece_bytes`` defaults to :data:`PIECE_BYTES`."""
        size = PIECE_BYTES if piece_bytes is None else piece_bytes
        root = _root_start(data)
        # After the prolog, a comment, CDATA section or processing instruction may hold a tag's
        # bytes that are no tag.
        if root is None or markup_in(data, root, (b"<!", b"<?")) is not None:
            return None
        start_tag, end_tag = f"<{element}>".encode(), f"</{element}>".encode()
        container_end = f"</{container}>".encode()
        find = data.find
        spans: list[tuple[int, int]] = []
        position = find(start_tag, root)
        while position != -1:
            # From the container's first element to its last one: its run, cut into pieces.
            region_end = find(container_end, position)
            if region_end == -1:
                region_end = len(data)
            last = data.rfind(end_tag, position, region_end)
            if last != -1:
                begin = position
                while begin <= last:
                    # The first end tag from `piece_bytes` on (the run's last one at the latest).
                    end = find(end_tag, min(begin + size, last), last + len(end_tag))
                    end += len(end_tag)
                    spans.append((begin, end))
                    begin = end
            position = find(start_tag, region_end)
        if not spans:
            return None
        return cls(data, data[:root], spans)

    def parse(self, index: int, in_scope: dict[str | None, str], bare: str) -> list[Element]:
        """The top-level elements of piece ``index``, parsed with the namespaces ``in_scope``
        where its placeholder stood; elements in the ``bare`` namespace get bare tags (``Amt``,
        not ``{…}Amt``: lxml builds those strings for every element read, a tenth of the reading).
        """
        if in_scope.get(None) != bare:
            raise CannotCut(f"piece {index} is not in the namespace {bare}")
        key = tuple(sorted((prefix, uri) for prefix, uri in in_scope.items() if prefix))
        if any(uri == bare for _, uri in key):  # `c:Amt` would be read as `{…}Amt`
            raise CannotCut(f"piece {index}: a prefix stands for {bare}")
        wrapper = self._wrappers.get(key)
        if wrapper is None:
            declarations = "".join(
                f' xmlns:{prefix}="{uri.translate(_XML_ATTRIBUTE_ESCAPES)}"' for prefix, uri in key
            )
            try:
                opening = f"<piece{declarations}>".encode("ascii")
            except UnicodeEncodeError:
                raise CannotCut(f"piece {index}: a namespace name is not ASCII") from None
            wrapper = self._wrappers[key] = (self._prolog + opening, b"</piece>")
        start, end = self._spans[index]
        # Any declaration (an attribute's name cannot be escaped: its bytes are there to find).
        if self._data.find(b"xmlns", start, end) != -1:
            raise CannotCut(f"piece {index} declares a namespace")
        try:
            piece = b"".join((wrapper[0], memoryview(self._data)[start:end], wrapper[1]))
            root = etree.fromstring(piece, self._parser)
        except etree.XMLSyntaxError:
            raise CannotCut(f"piece {index} is not a run of whole elements") from None
        elements: list[Element] = root[:]
        return elements


def _root_start(data: bytes) -> int | None:
    """Where the root element's start tag begins: after the byte order mark, the XML declaration
    and the prolog's comments and processing instructions (the prolog was checked before)."""
    position = data.find(b"<")
    while position != -1:
        if data.startswith(b"<?", position):
            end = data.find(b"?>", position)
            position = -1 if end == -1 else data.find(b"<", end + 2)
        elif data.startswith(b"<!--", position):
            end = data.find(b"-->", position)
            position = -1 if end == -1 else data.find(b"<", end + 3)
        elif data.startswith(b"<!", position):
            return None
        else:
            return position
    return None
