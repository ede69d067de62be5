"""An upper bound of a deck's compiled (WBXML) size, so that decks can be filled to the phone's limit.

A Nokia 7110 refuses any deck over 1,397 bytes once the gateway has compiled it. The product
cannot call a WBXML compiler at run time, so it counts what a compiler writes at most:

- a one-byte token per element and per attribute name, one ``END`` after an element's
  attributes and one after its content (WML 1.1 tags and attributes all have tokens);
- every text node and attribute value as an inline string (``STR_I``: its UTF-8 bytes and a
  terminating zero, plus one byte of token), whatever the deck's charset;
- an attribute value repeated in the deck once in the string table, then a reference per use
  (``STR_T`` and its offset): compilers share repeated values, and a deck repeats its URLs;
- the header (version, public identifier, charset, string table length).

Compilers also share repeated words of text and have tokens for common attribute values, which
only makes the real deck smaller. ``tests/frontends/wml`` checks every deck it sees against
libwbxml's ``xml2wbxml`` (size ≤ bound), and the worst cases against Kannel's compiler too.
"""

from __future__ import annotations

from collections import Counter

from lxml import etree

DECK_LIMIT = 1397
"""The largest compiled deck a Nokia 7110 accepts (the smallest limit of the phones in the field)."""

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=False
)


def _string(value: str) -> int:
    return len(value.encode("utf-8")) + 2  # STR_I, the bytes, the terminating zero


def _multibyte_length(value: int) -> int:
    length = 1
    while value >= 0x80:
        value >>= 7
        length += 1
    return length


def size_bound(deck: bytes) -> int:
    """At most how many bytes ``deck`` (a WML 1.1 document, any charset) compiles to."""
    root = etree.fromstring(deck, _PARSER)
    values = Counter(
        value for element in root.iter(etree.Element) for value in element.attrib.values()
    )
    shared = {value for value, uses in values.items() if uses > 1}
    table = sum(len(value.encode("utf-8")) + 1 for value in shared)
    reference = 1 + _multibyte_length(max(table, 1))
    body = 0
    for element in root.iter(etree.Element):
        body += 1  # the tag token
        if element.attrib:
            for value in element.attrib.values():
                body += 1 + (reference if value in shared else _string(value))
            body += 1  # END of the attribute list
        if element.text:
            body += _string(element.text)
        for child in element:
            if child.tail:
                body += _string(child.tail)
        if len(element) or element.text:
            body += 1  # END of the content
    header = 3 + _multibyte_length(table)  # version, public id, charset, string table length
    return header + table + body
