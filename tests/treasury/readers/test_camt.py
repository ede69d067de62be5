"""camt.054 / camt.053 reader: hand-written samples plus a small template writer per version."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from regie.treasury.readers import camt
from regie.treasury.records import (
    Balance,
    BankEntry,
    Pagination,
    ReadResult,
    RejectedEntry,
    StructuralError,
)

SAMPLES = Path(__file__).parent / "samples"
ACCOUNT = "FR7630004005670001234567876"
VERSIONS = ["02", "03", "04", "05", "06", "07", "08"]


# --- template writer: the shapes that changed between versions --------------------------------------


def status_xml(version: str, code: str) -> str:
    return f"<Sts>{code}</Sts>" if int(version) <= 4 else f"<Sts><Cd>{code}</Cd></Sts>"


def debtor_xml(version: str, name: str) -> str:
    if int(version) >= 8:
        return f"<Dbtr><Pty><Nm>{name}</Nm></Pty></Dbtr>"
    return f"<Dbtr><Nm>{name}</Nm></Dbtr>"


def tx_xml(
    version: str,
    *,
    amount: str | None = "512.30",
    currency: str = "EUR",
    end_to_end: str = "E2E-1",
    payer: str | None = "MME RENEE DUPRE",
    payer_iban: str | None = None,
    ustrd: tuple[str, ...] = ("LOYER MARS 2026",),
    creditor_ref: str | None = None,
    return_reason: str | None = None,
    tx_ref: str | None = None,
    indicator: str | None = None,
) -> str:
    refs = f"<AcctSvcrRef>{tx_ref}</AcctSvcrRef>" if tx_ref else ""
    refs += f"<EndToEndId>{end_to_end}</EndToEndId>"
    parts = [f"<Refs>{refs}</Refs>"]
    if amount is not None:
        if version == "02":
            parts.append(f'<AmtDtls><TxAmt><Amt Ccy="{currency}">{amount}</Amt></TxAmt></AmtDtls>')
        else:
            parts.append(f'<Amt Ccy="{currency}">{amount}</Amt>')
            if indicator:
                parts.append(f"<CdtDbtInd>{indicator}</CdtDbtInd>")
    parties = debtor_xml(version, payer) if payer else ""
    if payer_iban:
        parties += f"<DbtrAcct><Id><IBAN>{payer_iban}</IBAN></Id></DbtrAcct>"
    if parties:
        parts.append(f"<RltdPties>{parties}</RltdPties>")
    remittance = "".join(f"<Ustrd>{line}</Ustrd>" for line in ustrd)
    if creditor_ref:
        remittance += f"<Strd><CdtrRefInf><Ref>{creditor_ref}</Ref></CdtrRefInf></Strd>"
    if remittance:
        parts.append(f"<RmtInf>{remittance}</RmtInf>")
    if return_reason:
        parts.append(f"<RtrInf><Rsn><Cd>{return_reason}</Cd></Rsn></RtrInf>")
    return f"<TxDtls>{''.join(parts)}</TxDtls>"


def ntry_xml(
    version: str,
    *,
    amount: str = "512.30",
    currency: str = "EUR",
    indicator: str | None = "CRDT",
    status: str | None = "BOOK",
    booking: str | None = "<Dt>2026-03-02</Dt>",
    value: str | None = "<Dt>2026-03-02</Dt>",
    reference: str | None = "2026030200001",
    reversal: bool = False,
    txs: list[str] | None = None,
    text: str | None = None,
) -> str:
    parts = [f'<Amt Ccy="{currency}">{amount}</Amt>']
    if indicator:
        parts.append(f"<CdtDbtInd>{indicator}</CdtDbtInd>")
    if reversal:
        parts.append("<RvslInd>true</RvslInd>")
    if status:
        parts.append(status_xml(version, status))
    if booking:
        parts.append(f"<BookgDt>{booking}</BookgDt>")
    if value:
        parts.append(f"<ValDt>{value}</ValDt>")
    if reference:
        parts.append(f"<AcctSvcrRef>{reference}</AcctSvcrRef>")
    if txs is None:
        txs = [tx_xml(version, amount=amount)]
    if txs:
        parts.append(f"<NtryDtls>{''.join(txs)}</NtryDtls>")
    if text:
        parts.append(f"<AddtlNtryInf>{text}</AddtlNtryInf>")
    return f"<Ntry>{''.join(parts)}</Ntry>"


def camt054(
    version: str,
    *entries: str,
    reports: int = 1,
    group_header: str = "<MsgId>MSG-0001</MsgId><CreDtTm>2026-03-02T07:00:00+01:00</CreDtTm>",
    namespace: str | None = None,
) -> bytes:
    ns = namespace or f"urn:iso:std:iso:20022:tech:xsd:camt.054.001.{version}"
    account = f"<Acct><Id><IBAN>{ACCOUNT}</IBAN></Id></Acct>"
    body = "".join(
        f"<Ntfctn><Id>N{index}</Id>{account}{''.join(entries)}</Ntfctn>"
        for index in range(1, reports + 1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><BkToCstmrDbtCdtNtfctn>'
        f"<GrpHdr>{group_header}</GrpHdr>{body}</BkToCstmrDbtCdtNtfctn></Document>"
    ).encode()


def records(data: bytes) -> list[BankEntry | RejectedEntry]:
    return list(camt.read(data).entries)


def only(data: bytes) -> BankEntry | RejectedEntry:
    (record,) = records(data)
    return record


def accepted(data: bytes) -> BankEntry:
    record = only(data)
    assert isinstance(record, BankEntry), record
    return record


def rejected(data: bytes) -> RejectedEntry:
    record = only(data)
    assert isinstance(record, RejectedEntry), record
    return record


def sample(name: str) -> ReadResult:
    return camt.read((SAMPLES / name).read_bytes())


def sample_entries(name: str) -> list[BankEntry | RejectedEntry]:
    return list(sample(name).entries)


# --- versions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_reads_a_received_transfer_in_every_supported_version(version: str) -> None:
    data = camt054(version, ntry_xml(version))
    result = camt.read(data)
    (entry,) = list(result.entries)
    assert result.header.version == f"001.{version}"
    assert result.header.format == "camt.054"
    assert entry == BankEntry(
        position="Ntfctn 1, Ntry 1, TxDtls 1",
        entry_id=f"{ACCOUNT}|ntry|2026030200001|1",
        direction="credit",
        amount_cents=51230,
        currency="EUR",
        booking_date=date(2026, 3, 2),
        value_date=date(2026, 3, 2),
        status="booked",
        payer_name="MME RENEE DUPRE",
        remittance=("LOYER MARS 2026",),
        end_to_end_id="E2E-1",
        account_iban=ACCOUNT,
    )


@pytest.mark.parametrize("version", ["01", "09", "13"])
def test_unsupported_version_is_a_structural_error(version: str) -> None:
    with pytest.raises(StructuralError, match=f"001.{version} is not supported"):
        camt.read(camt054(version, ntry_xml("08")))


def test_unknown_namespace_is_a_structural_error() -> None:
    data = camt054("08", ntry_xml("08"), namespace="urn:example:not-camt")
    with pytest.raises(StructuralError, match="urn:example:not-camt"):
        camt.read(data)


def test_reading_a_notification_as_a_statement_is_refused() -> None:
    with pytest.raises(StructuralError, match=r"camt\.054 message, not a camt\.053"):
        camt.read(camt054("08", ntry_xml("08")), expected="camt.053")


def test_message_element_must_match_the_namespace() -> None:
    data = camt054("08", ntry_xml("08")).replace(b"BkToCstmrDbtCdtNtfctn", b"BkToCstmrStmt")
    with pytest.raises(StructuralError, match="no <BkToCstmrDbtCdtNtfctn> element"):
        camt.read(data)


def test_truncated_document_fails_before_any_entry_is_handed_out() -> None:
    data = camt054("08", *[ntry_xml("08", reference=f"R{i}") for i in range(50)])
    with pytest.raises(StructuralError, match="not well-formed"):
        camt.read(data[: len(data) - 200])


def test_missing_message_id_is_a_structural_error() -> None:
    data = camt054("08", ntry_xml("08"), group_header="<CreDtTm>2026-03-02T07:00:00</CreDtTm>")
    with pytest.raises(StructuralError, match="MsgId"):
        camt.read(data)


# --- hand-written samples ---------------------------------------------------------------------------


def test_batched_entry_gives_one_record_per_transaction_with_its_own_amount() -> None:
    entries = sample_entries("camt054_v02_batched.xml")
    assert [(e.position, e.amount_cents) for e in entries if isinstance(e, BankEntry)] == [
        ("Ntfctn 1, Ntry 1, TxDtls 1", 51230),
        ("Ntfctn 1, Ntry 1, TxDtls 2", 84500),
        ("Ntfctn 1, Ntry 1, TxDtls 3", 58000),
    ]


def test_payer_name_and_iban_are_read_from_dbtr_nm_before_version_08() -> None:
    first = sample_entries("camt054_v02_batched.xml")[0]
    assert isinstance(first, BankEntry)
    assert first.payer_name == "MME RENÉE DUPRÉ"
    assert first.payer_iban == "FR1420041010050500013M02606"


def test_payer_name_is_read_from_dbtr_pty_nm_in_version_08() -> None:
    first = sample_entries("camt054_v08_sepa.xml")[0]
    assert isinstance(first, BankEntry)
    assert first.payer_name == "M PAUL LEROY"
    assert first.payer_iban == "FR7630003036200005091234507"


def test_account_iban_is_normalised() -> None:
    first = sample_entries("camt054_v02_batched.xml")[0]
    assert isinstance(first, BankEntry)
    assert first.account_iban == ACCOUNT  # written with spaces in the file


def test_unstructured_remittance_lines_are_kept_in_order() -> None:
    first = sample_entries("camt054_v02_batched.xml")[0]
    assert isinstance(first, BankEntry)
    assert first.remittance == ("LOYER MARS 2026 LOGEMENT 12", "LOC 004512")


def test_structured_creditor_reference_is_read() -> None:
    second = sample_entries("camt054_v02_batched.xml")[1]
    assert isinstance(second, BankEntry)
    assert second.structured_reference == "RF18539007547034"
    assert second.remittance == ()


def test_notprovided_end_to_end_id_becomes_none() -> None:
    second = sample_entries("camt054_v02_batched.xml")[1]
    assert isinstance(second, BankEntry)
    assert second.end_to_end_id is None


def test_bank_transaction_code_and_entry_text_are_read() -> None:
    first = sample_entries("camt054_v02_batched.xml")[0]
    assert isinstance(first, BankEntry)
    assert first.bank_transaction_code == "PMNT/RCDT/ESCT"
    assert first.entry_text == "REMISE VIR SEPA RECUS 3 OPERATIONS"


def test_pagination_is_read() -> None:
    assert sample("camt054_v02_batched.xml").header.pagination == Pagination(1, last_page=False)
    assert sample("camt054_v08_sepa.xml").header.pagination == Pagination(2, last_page=True)


def test_creation_time_is_utc_and_a_time_without_offset_is_paris_time() -> None:
    header = sample("camt054_v02_batched.xml").header
    assert header.message_id == "CAMT054-20260302-000117"
    assert header.created_at == datetime(2026, 3, 2, 6, 12, 45, tzinfo=UTC)
    assert sample("camt054_v08_sepa.xml").header.created_at == datetime(
        2026, 3, 3, 17, 30, tzinfo=UTC
    )


def test_returned_direct_debit_is_a_reversed_debit_with_its_reason() -> None:
    returned = sample_entries("camt054_v08_sepa.xml")[1]
    assert isinstance(returned, BankEntry)
    assert (returned.direction, returned.amount_cents, returned.reversal) == ("debit", 3221, True)
    assert returned.return_reason == "AM04"
    assert returned.mandate_id == "RUM-OPH01-004512"
    assert returned.bank_transaction_code == "PMNT/RDDT/UPDD"


def test_entry_without_transaction_details_gives_one_record_from_the_entry() -> None:
    fee = sample_entries("camt054_v08_sepa.xml")[2]
    assert isinstance(fee, BankEntry)
    assert fee.position == "Ntfctn 1, Ntry 3"
    assert (fee.direction, fee.amount_cents) == ("debit", 960)
    assert fee.entry_text == "FRAIS SUR IMPAYE"
    assert fee.entry_id == f"{ACCOUNT}|ntry|2026030300079|1"


def test_booking_date_given_as_date_time_keeps_the_bank_date() -> None:
    first = sample_entries("camt054_v08_sepa.xml")[0]
    assert isinstance(first, BankEntry)
    assert first.booking_date == date(2026, 3, 3)


def test_pending_entry_has_no_booking_date_and_takes_the_entry_amount() -> None:
    pending = sample_entries("camt054_v08_sepa.xml")[3]
    assert isinstance(pending, BankEntry)
    assert pending.status == "pending"
    assert pending.booking_date is None
    assert pending.amount_cents == 41500  # its only TxDtls has no amount
    assert pending.payer_name == "MLLE CHLOÉ BERNARD"


def test_statement_opening_and_closing_balances_are_read() -> None:
    header = sample("camt053_v04_statement.xml").header
    assert header.format == "camt.053"
    assert header.balances == (
        Balance(ACCOUNT, "opening", 150000, "EUR", date(2026, 3, 2)),
        Balance(ACCOUNT, "closing", 340509, "EUR", date(2026, 3, 2)),
    )


def test_non_eur_entry_is_rejected_with_its_position() -> None:
    entries = sample_entries("camt053_v04_statement.xml")
    assert (
        RejectedEntry(
            position="Stmt 1, Ntry 2",
            reason="The entry currency is 'USD'; only EUR amounts are accepted.",
        )
        in entries
    )


def test_entries_around_a_rejected_one_are_accepted() -> None:
    entries = sample_entries("camt053_v04_statement.xml")
    assert [type(e).__name__ for e in entries] == [
        "BankEntry",
        "BankEntry",
        "BankEntry",
        "RejectedEntry",
        "BankEntry",
    ]


def test_notification_and_statement_of_the_same_booking_give_the_same_ids() -> None:
    notified = sample_entries("camt054_v02_batched.xml")
    stated = sample_entries("camt053_v04_statement.xml")[:3]
    assert [e.entry_id for e in notified if isinstance(e, BankEntry)] == [
        e.entry_id for e in stated if isinstance(e, BankEntry)
    ]


def test_reading_twice_gives_identical_records() -> None:
    assert sample_entries("camt054_v08_sepa.xml") == sample_entries("camt054_v08_sepa.xml")


# --- variations through the template ----------------------------------------------------------------


@pytest.mark.parametrize("version", ["02", "04", "05", "08"])
@pytest.mark.parametrize(
    ("code", "status"), [("BOOK", "booked"), ("PDNG", "pending"), ("INFO", "info")]
)
def test_status_is_read_in_the_shape_of_each_version(version: str, code: str, status: str) -> None:
    assert accepted(camt054(version, ntry_xml(version, status=code))).status == status


def test_status_code_element_is_accepted_in_an_older_version_too() -> None:
    data = camt054("04", ntry_xml("05", status="PDNG"))
    assert accepted(data).status == "pending"


def test_unknown_status_is_rejected() -> None:
    reason = rejected(camt054("08", ntry_xml("08", status="FUTR"))).reason
    assert reason == "The entry status 'FUTR' is not BOOK, PDNG or INFO."


def test_missing_status_is_rejected() -> None:
    assert "no status" in rejected(camt054("08", ntry_xml("08", status=None))).reason


def test_reversal_indicator_is_read() -> None:
    data = camt054("05", ntry_xml("05", indicator="DBIT", reversal=True))
    entry = accepted(data)
    assert (entry.direction, entry.reversal) == ("debit", True)


def test_missing_credit_debit_indicator_is_rejected() -> None:
    reason = rejected(camt054("08", ntry_xml("08", indicator=None))).reason
    assert "credit/debit indicator" in reason


def test_transaction_indicator_overrides_the_entry_indicator() -> None:
    data = camt054("08", ntry_xml("08", txs=[tx_xml("08", indicator="DBIT")]))
    assert accepted(data).direction == "debit"


def test_single_transaction_without_its_own_amount_takes_the_entry_amount() -> None:
    data = camt054("06", ntry_xml("06", amount="99.90", txs=[tx_xml("06", amount=None)]))
    assert accepted(data).amount_cents == 9990


def test_batched_transaction_without_its_own_amount_is_rejected() -> None:
    txs = [tx_xml("07", amount="10.00"), tx_xml("07", amount=None)]
    first, second = records(camt054("07", ntry_xml("07", amount="30.00", txs=txs)))
    assert isinstance(first, BankEntry)
    assert isinstance(second, RejectedEntry)
    assert second.position == "Ntfctn 1, Ntry 1, TxDtls 2"
    assert "no amount of its own" in second.reason


def test_several_notifications_are_numbered_in_positions() -> None:
    entries = records(camt054("08", ntry_xml("08"), reports=2))
    assert [e.position for e in entries] == [
        "Ntfctn 1, Ntry 1, TxDtls 1",
        "Ntfctn 2, Ntry 1, TxDtls 1",
    ]


def test_non_eur_transaction_amount_is_rejected_with_its_position() -> None:
    txs = [tx_xml("08", amount="10.00"), tx_xml("08", amount="12.00", currency="CHF")]
    rejection = records(camt054("08", ntry_xml("08", amount="22.00", txs=txs)))[1]
    assert rejection == RejectedEntry(
        position="Ntfctn 1, Ntry 1, TxDtls 2",
        reason="The transaction currency is 'CHF'; only EUR amounts are accepted.",
    )


def test_transaction_repeating_the_entry_amount_in_another_currency_is_rejected() -> None:
    # A transaction that repeats its entry's amount takes the amount already read from the entry:
    # the currency is part of what it must repeat.
    txs = [tx_xml("08", amount="512.30", currency="USD")]
    assert rejected(camt054("08", ntry_xml("08", amount="512.30", txs=txs))) == RejectedEntry(
        position="Ntfctn 1, Ntry 1, TxDtls 1",
        reason="The transaction currency is 'USD'; only EUR amounts are accepted.",
    )


@pytest.mark.parametrize(
    ("written", "cents"), [("512.30", 51230), (" 512.3 ", 51230), ("12.5", 1250)]
)
def test_transaction_amount_is_its_own_however_the_entry_writes_it(
    written: str, cents: int
) -> None:
    data = camt054("08", ntry_xml("08", amount="512.30", txs=[tx_xml("08", amount=written)]))
    assert accepted(data).amount_cents == cents


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "<Domn><Cd> PMNT </Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd> </SubFmlyCd></Fmly></Domn>",
            "PMNT/RCDT",
        ),
        ("<Prtry><Cd>  VIR  RECU </Cd><Issr>BNK</Issr></Prtry>", "VIR RECU"),
        ("<Domn><Cd> </Cd></Domn><Prtry><Cd>VIR</Cd></Prtry>", "VIR"),
        ("<Domn><Fmly><Cd>RCDT</Cd></Fmly></Domn>", None),
    ],
)
def test_bank_transaction_code_is_read_from_the_domain_else_the_proprietary_code(
    code: str, expected: str | None
) -> None:
    entry = ntry_xml("08").replace("<NtryDtls>", f"<BkTxCd>{code}</BkTxCd><NtryDtls>")
    assert accepted(camt054("08", entry)).bank_transaction_code == expected


def test_zero_amount_is_rejected() -> None:
    assert rejected(camt054("08", ntry_xml("08", amount="0.00"))).reason == (
        "The entry amount is zero."
    )


@pytest.mark.parametrize("amount", ["12,50", "-5.00", "1.234", "abc", "", "1e3"])
def test_malformed_amount_is_rejected(amount: str) -> None:
    assert "amount is not valid" in rejected(camt054("08", ntry_xml("08", amount=amount))).reason


def test_an_amount_of_thousands_of_digits_is_rejected_and_the_rest_of_the_file_read() -> None:
    # int() refuses texts of 4,300 digits and more with an error of its own: that ended the
    # reading of the whole file instead of rejecting the one entry.
    huge = "9" * 5000 + ".00"
    data = camt054("08", ntry_xml("08", amount=huge) + ntry_xml("08", amount="12.50"))
    first, second = records(data)
    assert isinstance(first, RejectedEntry)
    assert "more than 15 digits before the decimal point" in first.reason
    assert len(first.reason) < 200  # the text is not quoted whole
    assert isinstance(second, BankEntry) and second.amount_cents == 1250
    # Zeros in front count for nothing.
    assert accepted(camt054("08", ntry_xml("08", amount="0" * 5000 + "12.50"))).amount_cents == 1250


def test_amount_with_trailing_zero_decimals_is_exact() -> None:
    assert accepted(camt054("08", ntry_xml("08", amount="1234.5000"))).amount_cents == 123450


def test_impossible_booking_date_is_rejected() -> None:
    data = camt054("08", ntry_xml("08", booking="<Dt>2026-02-30</Dt>"))
    assert rejected(data) == RejectedEntry(
        position="Ntfctn 1, Ntry 1",
        reason="The booking date '2026-02-30' is not a valid date.",
    )


def test_impossible_value_date_time_is_rejected() -> None:
    data = camt054("08", ntry_xml("08", value="<DtTm>2026-04-31T10:00:00</DtTm>"))
    assert "value date" in rejected(data).reason


def test_transaction_reference_identifies_an_entry_without_bank_reference() -> None:
    data = camt054("08", ntry_xml("08", reference=None, txs=[tx_xml("08", tx_ref="TX-77")]))
    assert accepted(data).entry_id == f"{ACCOUNT}|tx|TX-77"


def test_entries_without_any_bank_reference_get_distinct_stable_ids() -> None:
    twice = ntry_xml("08", reference=None) * 2
    first, second = records(camt054("08", twice))
    assert isinstance(first, BankEntry) and isinstance(second, BankEntry)
    assert second.entry_id == first.entry_id + "#2"
    again = records(camt054("08", twice))
    assert [e.entry_id for e in again if isinstance(e, BankEntry)] == [
        first.entry_id,
        second.entry_id,
    ]


def test_return_reason_is_read_from_any_version() -> None:
    data = camt054("03", ntry_xml("03", indicator="DBIT", txs=[tx_xml("03", return_reason="MD06")]))
    assert accepted(data).return_reason == "MD06"


def test_balance_with_an_invalid_amount_is_a_structural_error() -> None:
    data = (SAMPLES / "camt053_v04_statement.xml").read_bytes()
    broken = data.replace(b'<Amt Ccy="EUR">1500.00</Amt>', b'<Amt Ccy="EUR">1500,00</Amt>')
    with pytest.raises(StructuralError, match="balance OPBD"):
        camt.read(broken)
