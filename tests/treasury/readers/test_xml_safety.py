"""Hostile XML is refused before parsing; the parser itself never expands or fetches anything."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from regie.treasury.readers import camt, xml_safety
from regie.treasury.readers.xml_safety import DEFAULT_MAX_BYTES, check_xml, safe_iterparse
from regie.treasury.records import StructuralError

SAMPLES = Path(__file__).parent / "samples"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">&lol9;</Document>
"""


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-4242")
    return path


@pytest.fixture
def listening_port() -> Iterator[tuple[socket.socket, int]]:
    """A local port nobody should connect to; the test checks afterwards that nobody did."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    try:
        yield server, server.getsockname()[1]
    finally:
        server.close()


def assert_never_contacted(server: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        connection, _ = server.accept()
        connection.close()


def xxe_document(secret: Path, port: int) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE Document [
  <!ENTITY secret SYSTEM "file://{secret}">
  <!ENTITY remote SYSTEM "http://127.0.0.1:{port}/entity">
  <!ENTITY % dtd SYSTEM "http://127.0.0.1:{port}/dtd">
  %dtd;
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
  <BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>&secret;&remote;</MsgId></GrpHdr></BkToCstmrDbtCdtNtfctn>
</Document>
""".encode()


def test_a_bank_file_passes_the_check() -> None:
    check_xml((SAMPLES / "camt054_v08_sepa.xml").read_bytes())


def test_billion_laughs_is_refused_before_parsing() -> None:
    with pytest.raises(StructuralError, match="<!DOCTYPE"):
        camt.read(BILLION_LAUGHS)


def test_external_entities_are_refused_and_nothing_is_read_or_fetched(
    secret_file: Path, listening_port: tuple[socket.socket, int]
) -> None:
    server, port = listening_port
    with pytest.raises(StructuralError, match="<!DOCTYPE") as raised:
        camt.read(xxe_document(secret_file, port))
    assert "TOP-SECRET" not in str(raised.value)
    assert_never_contacted(server)


def test_parser_options_alone_neither_expand_nor_fetch_entities(
    secret_file: Path, listening_port: tuple[socket.socket, int]
) -> None:
    # Second line of defence, should the prolog check ever be bypassed.
    server, port = listening_port
    texts = [
        element.xpath("string()")
        for _, element in safe_iterparse(
            io.BytesIO(xxe_document(secret_file, port)), events=("end",)
        )
    ]
    assert not any("TOP-SECRET" in text for text in texts)
    assert_never_contacted(server)


def test_doctype_in_a_utf16_document_is_refused() -> None:
    with pytest.raises(StructuralError, match="<!DOCTYPE"):
        check_xml(
            BILLION_LAUGHS.replace(b'"1.0"', b'"1.0" encoding="UTF-16"').decode().encode("utf-16")
        )


def test_doctype_in_a_utf16_document_without_byte_order_mark_is_refused() -> None:
    with pytest.raises(StructuralError, match="<!DOCTYPE"):
        check_xml(BILLION_LAUGHS.decode().encode("utf-16-be"))


def test_doctype_after_a_comment_and_a_byte_order_mark_is_refused() -> None:
    data = b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- <Document> -->\n<!DOCTYPE d []><d/>"
    with pytest.raises(StructuralError, match="<!DOCTYPE"):
        check_xml(data)


def test_lowercase_doctype_is_refused() -> None:
    with pytest.raises(StructuralError, match="<!DOCTYPE"):
        check_xml(b"<!doctype d><d/>")


def test_entity_declaration_anywhere_is_refused() -> None:
    with pytest.raises(StructuralError, match="<!ENTITY"):
        check_xml(b'<d><!ENTITY x "y"></d>')


def test_an_encoding_that_could_hide_markup_is_refused() -> None:
    data = b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE d+AD4-<d/>'
    with pytest.raises(StructuralError, match="UTF-7"):
        check_xml(data)


def test_utf32_is_refused() -> None:
    with pytest.raises(StructuralError, match="UTF-32"):
        check_xml("<d/>".encode("utf-32"))


def test_text_that_is_not_xml_is_refused() -> None:
    with pytest.raises(StructuralError, match="not an XML document"):
        camt.read(b"reference;montant\n1;2\n")


def test_unterminated_comment_in_the_prolog_is_refused() -> None:
    with pytest.raises(StructuralError, match="unterminated comment"):
        check_xml(b"<?xml version='1.0'?><!-- <d/>")


def test_a_file_above_the_size_cap_is_refused() -> None:
    data = (SAMPLES / "camt054_v08_sepa.xml").read_bytes()
    with pytest.raises(StructuralError, match="more than the 1000 bytes accepted"):
        camt.read(data, max_bytes=1000)


def test_the_default_size_cap_is_50_megabytes() -> None:
    assert DEFAULT_MAX_BYTES == 50 * 1024 * 1024
    with pytest.raises(StructuralError, match="bytes accepted"):
        check_xml(b"<d>" + b" " * DEFAULT_MAX_BYTES + b"</d>")


def test_markup_is_found_by_its_second_byte_among_lookalikes() -> None:
    text = b"<a>Oui ! Quoi ? <b>!</b> <!-- note --></a>"
    assert xml_safety.markup_in(text, 0, (b"<!", b"<?")) == b"<!"
    assert xml_safety.markup_in(text, 0, (b"<?",)) is None
    assert xml_safety.markup_in(text, 0, (b"<!DOCTYPE", b"<!ENTITY")) is None
    assert xml_safety.markup_in(b"<a/><!ENTITY x>", 0, (b"<!DOCTYPE", b"<!ENTITY")) == b"<!ENTITY"
