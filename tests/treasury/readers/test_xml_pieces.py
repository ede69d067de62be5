"""camt entries read in pieces (xml_pieces) give exactly the records the streamed reading gives.

Each document is read both ways: in pieces where it can be cut (and the test checks that it was
cut, or that it was not where it must not be), and streamed. Odd but well-formed layouts make a
piece or the skeleton fail to parse: the reading then goes on streamed from where it stopped.
"""

from __future__ import annotations

import pytest

from regie.treasury.readers import camt, xml_pieces
from regie.treasury.readers.xml_pieces import CannotCut, Pieces
from regie.treasury.records import BankEntry, RejectedEntry
from tests.treasury.readers.test_camt import ACCOUNT, VERSIONS, ntry_xml, tx_xml

OTHER_ACCOUNT = "FR7610107001011234567890129"


def document(
    version: str, *reports: str, kind: str = "054", head: str = "", root_extra: str = ""
) -> bytes:
    message, report = (
        ("BkToCstmrDbtCdtNtfctn", "Ntfctn") if kind == "054" else ("BkToCstmrStmt", "Stmt")
    )
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.{version}"
    body = "".join(f"<{report}>{content}</{report}>" for content in reports)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{head}<Document xmlns="{ns}"{root_extra}>'
        f"<{message}><GrpHdr><MsgId>PIECES-1</MsgId><CreDtTm>2026-03-02T07:00:00Z</CreDtTm>"
        f"</GrpHdr>{body}</{message}></Document>"
    ).encode()


def account(iban: str = ACCOUNT) -> str:
    return f"<Acct><Id><IBAN>{iban}</IBAN></Id></Acct>"


def entries(version: str, count: int, start: int = 0, separator: str = "") -> str:
    """`count` entries of several shapes: batched, without details, rejected, a return."""
    out = []
    for n in range(start, start + count):
        shape = n % 5
        if shape == 0:
            txs = [tx_xml(version, amount="100.00", end_to_end=f"E{n}-1"),
                   tx_xml(version, amount="412.30", end_to_end=f"E{n}-2")]  # fmt: skip
            out.append(ntry_xml(version, amount="512.30", reference=f"R{n}", txs=txs))
        elif shape == 1:
            out.append(ntry_xml(version, reference=f"R{n}", txs=[]))
        elif shape == 2:
            out.append(ntry_xml(version, amount="0.00", reference=f"R{n}"))  # rejected: zero
        elif shape == 3:
            tx = tx_xml(version, return_reason="AC04", ustrd=(f"LOYER {n}",))
            out.append(ntry_xml(version, indicator="DBIT", reference=f"R{n}", txs=[tx]))
        else:
            out.append(ntry_xml(version, reference=None, text=f"VIR {n}"))
    return separator.join(out)


def both(data: bytes, piece_bytes: int = 2000) -> tuple[list[BankEntry | RejectedEntry], bool]:
    """The records read in pieces of about `piece_bytes`, checked against the streamed ones, and
    whether the document was cut at all."""
    message = camt.identify(data)
    cut = Pieces.cut(data, "Ntry", message.report_element, piece_bytes=piece_bytes) is not None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(xml_pieces, "PIECE_BYTES", piece_bytes)
        in_pieces = list(camt._entries(data, message))
    streamed = list(camt._entries(data, message, cut=False))
    assert in_pieces == streamed
    return in_pieces, cut


@pytest.mark.parametrize("version", VERSIONS)
def test_every_version_reads_the_same_in_many_pieces(version: str) -> None:
    data = document(version, account() + entries(version, 60))
    read, cut = both(data)
    assert cut
    assert len(read) == 72  # 60 entries, 12 of them batching two transactions
    assert sum(isinstance(r, RejectedEntry) for r in read) == 12
    assert read[0].position == "Ntfctn 1, Ntry 1, TxDtls 1"
    assert read[-1].position.startswith("Ntfctn 1, Ntry 60,")


def test_reports_accounts_and_numbering_follow_the_document() -> None:
    data = document(
        "08",
        "<Id>A</Id>" + account() + entries("08", 23, separator="\n  "),
        "<Id>B</Id>" + account(OTHER_ACCOUNT) + entries("08", 17, start=23) + "<AddtlNtfctnInf>x</AddtlNtfctnInf>",
        "<Id>C</Id>" + account(),
    )  # fmt: skip
    read, cut = both(data, piece_bytes=1500)
    assert cut
    last_of_first = [r for r in read if r.position.startswith("Ntfctn 1,")][-1]
    assert last_of_first.position == "Ntfctn 1, Ntry 23"
    second = [r for r in read if r.position.startswith("Ntfctn 2,")]
    assert second[0].position.startswith("Ntfctn 2, Ntry 1")
    assert {r.account_iban for r in second if isinstance(r, BankEntry)} == {OTHER_ACCOUNT}


def test_a_statement_reads_the_same_in_pieces() -> None:
    balances = "".join(
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-02</Dt></Dt></Bal>"
        for code in ("OPBD", "CLBD")
    )
    data = document("04", "<Id>S</Id>" + account() + balances + entries("04", 30), kind="053")
    read, cut = both(data)
    assert cut and len(read) == 36


def test_other_elements_between_entries_are_skipped_as_streamed() -> None:
    between = "<Xtra><Ntry><Amt Ccy='EUR'>1.00</Amt></Ntry></Xtra>"  # not an entry of the report
    data = document("08", account() + entries("08", 10, separator=between))
    read, cut = both(data)
    assert cut and len(read) == 12


def test_a_namespace_declared_on_the_root_is_in_scope_in_every_piece() -> None:
    extension = "<SplmtryData><Envlp><x:Note>ok</x:Note></Envlp></SplmtryData>"
    data = document(
        "08",
        account() + entries("08", 20).replace("</Ntry>", extension + "</Ntry>"),
        root_extra=' xmlns:x="urn:example:notes"',
    )
    read, cut = both(data)
    assert cut and len(read) == 24


def test_latin_1_text_is_decoded_as_declared() -> None:
    tx = tx_xml("08", payer="MME HÉLÈNE GARÇON")
    data = document("08", account() + ntry_xml("08", txs=[tx]) * 3).replace(
        b'encoding="UTF-8"', b'encoding="ISO-8859-1"'
    )
    data = data.decode("utf-8").encode("iso-8859-1")
    read, cut = both(data, piece_bytes=100)
    assert cut
    assert {r.payer_name for r in read if isinstance(r, BankEntry)} == {"MME HÉLÈNE GARÇON"}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(("</Ntry>", "<!-- </Ntry> --></Ntry>"), id="a comment"),
        pytest.param(("<AddtlNtryInf>", "<AddtlNtryInf><![CDATA[<Ntry>]]>"), id="a CDATA section"),
        pytest.param(("</Ntry>", "<?note </Ntry>?></Ntry>"), id="a processing instruction"),
    ],
)
def test_markup_that_may_hide_tags_is_not_cut(change: tuple[str, str]) -> None:
    old, new = change
    xml = entries("08", 12).replace(old, new, 1)
    if "AddtlNtryInf" in old:
        xml = entries("08", 12)
        xml = xml.replace("<AddtlNtryInf>", new, 1)
    read, cut = both(document("08", account() + xml))
    assert not cut
    assert len(read) >= 14  # the undeclared namespace hides an amount, rejecting a batch


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(("</Ntry>", "</Ntry >"), id="an end tag with a space"),
        pytest.param(("<Ntry>", "<Ntry\n>"), id="a start tag with a space"),
        pytest.param(("<Amt ", '<Amt xmlns="" '), id="an undeclared default namespace"),
        pytest.param(
            ("<Ntry>", '<Ntry xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'),
            id="the default namespace declared again",
        ),
        pytest.param(("<TxDtls>", '<TxDtls xmlns = "urn:example:other">'), id="another default"),
        pytest.param(
            (
                "<CdtDbtInd>CRDT</CdtDbtInd>",
                '<c:CdtDbtInd xmlns:c="urn:iso:std:iso:20022:tech:xsd:camt.054.001.0&#56;">CRDT'
                "</c:CdtDbtInd>",
            ),
            id="a prefix for the camt namespace, declared in the entry",
        ),
        pytest.param(
            ("</NtryDtls>", "</NtryDtls><SplmtryData><Envlp><Ntry>x</Ntry></Envlp></SplmtryData>"),
            id="an entry inside an entry",
        ),
        pytest.param(
            ("</Ntry>", f"</Ntry>{account(OTHER_ACCOUNT)}"), id="an account between entries"
        ),
    ],
)
def test_pieces_that_do_not_parse_as_cut_go_on_streamed(change: tuple[str, str]) -> None:
    old, new = change
    xml = entries("08", 40)
    at = xml.index(old, len(xml) // 2)  # halfway: the first pieces are read in pieces
    xml = xml[:at] + new + xml[at + len(old) :]
    read, cut = both(document("08", account() + xml), piece_bytes=1000)
    assert cut
    assert len(read) >= 47  # an undeclared namespace hides an amount, rejecting a batch
    if "Acct" in new:  # the entries after it are the other account's
        assert read[-1].account_iban == OTHER_ACCOUNT  # type: ignore[union-attr]


def test_a_piece_reports_what_it_cannot_parse() -> None:
    nested = "<SplmtryData><Envlp><Ntry>x</Ntry></Envlp></SplmtryData></Ntry>"
    data = document("08", account() + entries("08", 4).replace("</Ntry>", nested, 1))
    pieces = Pieces.cut(data, "Ntry", "Ntfctn", piece_bytes=10)
    assert pieces is not None
    namespace = camt.identify(data).namespace
    with pytest.raises(CannotCut):
        pieces.parse(0, {None: namespace}, namespace)
    assert [e.tag for e in pieces.parse(2, {None: namespace}, namespace)] == ["Ntry"]
    with pytest.raises(CannotCut):  # its entries are not in the camt namespace
        pieces.parse(2, {None: "urn:example:other"}, namespace)


def test_a_prefixed_document_is_streamed() -> None:
    data = document("08", account() + entries("08", 6))
    namespace = camt.identify(data).namespace
    prefixed = data.decode().replace(f'xmlns="{namespace}"', f'xmlns:c="{namespace}"')
    prefixed = prefixed.replace("</", "</c:").replace("<", "<c:").replace("<c:/c:", "</c:")
    prefixed = prefixed.replace("<c:?xml", "<?xml")
    read, cut = both(prefixed.encode())
    assert not cut and len(read) == 8


def test_a_broken_document_fails_where_the_streamed_reading_fails() -> None:
    data = document("08", account() + entries("08", 30))
    broken = data[: len(data) * 2 // 3]
    message = camt.identify(broken)
    handed: list[list[BankEntry | RejectedEntry]] = []
    for cut in (True, False):
        got: list[BankEntry | RejectedEntry] = []
        with pytest.raises(Exception) as caught:
            for record in camt._entries(broken, message, cut=cut):
                got.append(record)
        assert "not well-formed" in str(caught.value)
        handed.append(got)
    assert handed[0] == handed[1]


def test_a_byte_order_mark_is_kept_before_every_piece() -> None:
    data = b"\xef\xbb\xbf" + document("08", account() + entries("08", 20))
    read, cut = both(data)
    assert cut and len(read) == 24


def test_utf_16_is_streamed() -> None:
    text = document("08", account() + entries("08", 6)).decode()
    data = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    read, cut = both(data)
    assert not cut and len(read) == 8


def test_an_element_of_the_document_cannot_pass_for_a_placeholder() -> None:
    forged = '<x:p xmlns:x="urn:regie:pi&#101;ce" n="0"/><y:p xmlns:y="urn:regie:piece" n="0"/>'
    data = document("08", account() + forged + entries("08", 10))
    read, cut = both(data)
    assert cut and len(read) == 12  # the first piece read once, where it stands


def test_an_entry_the_cut_misses_is_read_as_streamed() -> None:
    xml = entries("08", 10).replace("<Ntry>", "<Ntry >", 1)  # before the first cut
    read, cut = both(document("08", account() + xml))
    assert cut and len(read) == 12
    assert isinstance(read[0], BankEntry) and read[0].amount_cents == 10000


def test_a_prefix_for_the_camt_namespace_declared_on_the_root_is_read_as_streamed() -> None:
    xml = entries("08", 10).replace(
        "<CdtDbtInd>CRDT</CdtDbtInd>", "<c:CdtDbtInd>CRDT</c:CdtDbtInd>"
    )
    data = document(
        "08",
        account() + xml,
        root_extra=' xmlns:c="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"',
    )
    read, cut = both(data)
    assert cut and len(read) == 12
    assert not any(isinstance(r, RejectedEntry) and "indicator" in r.reason for r in read)
