"""CFONB 120 reader: hand-written samples plus a record builder for variations."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

from regie.treasury.readers import cfonb120
from regie.treasury.records import (
    Balance,
    BankEntry,
    ReadResult,
    RejectedEntry,
    StructuralError,
)

SAMPLES = Path(__file__).parent / "samples"
ACCOUNT_IBAN = "FR7630004005670001234567876"
POSITIVE, NEGATIVE = "{ABCDEFGHI", "}JKLMNOPQR"


# --- record builder ---------------------------------------------------------------------------------


def signed(units: int) -> str:
    """14-character CFONB amount: 13 digits and a character for the last digit and the sign."""
    digits = f"{abs(units):014d}"
    return digits[:13] + (POSITIVE if units >= 0 else NEGATIVE)[int(digits[13])]


def record(fields: dict[int, str]) -> str:
    """A 120-character record with each text placed at its 1-based position."""
    line = [" "] * 120
    for start, text in fields.items():
        line[start - 1 : start - 1 + len(text)] = text
    assert len(line) == 120
    return "".join(line)


def header_fields(
    code: str, day: str, *, currency: str = "EUR", decimals: str = "2", account: str = "00012345678"
) -> dict[int, str]:
    return {1: code, 3: "30004", 12: "00567", 17: currency, 20: decimals, 22: account, 35: day}


def balance(code: str, units: int, day: str = "020326", **options: str) -> str:
    return record({**header_fields(code, day, **options), 91: signed(units)})


def movement(
    units: int,
    *,
    day: str = "020326",
    value_day: str | None = None,
    label: str = "VIR SEPA RECU",
    entry_number: str = "0000101",
    reference: str = "REF0000000000001",
    rejection: str = "  ",
    amount: str | None = None,
    **options: str,
) -> str:
    fields = header_fields("04", day, **options)
    fields.update(
        {
            8: "0158",
            33: "05",
            41: rejection,
            43: value_day or day,
            49: label,
            82: entry_number,
            91: amount or signed(units),
            105: reference,
        }
    )
    return record(fields)


def complement(qualifier: str, information: str, *, day: str = "020326", **options: str) -> str:
    fields = header_fields("05", day, **options)
    fields.update({8: "0158", 33: "05", 46: qualifier, 49: information})
    return record(fields)


def statement(
    *movements_and_complements: str, opening: int = 100000, total: int | None = None
) -> list[str]:
    """01 + records + 07, the 07 balancing unless `total` (sum of movements) says otherwise."""
    if total is None:
        total = sum(
            parse_units(line[90:104]) for line in movements_and_complements if line[:2] == "04"
        )
    return [balance("01", opening), *movements_and_complements, balance("07", opening + total)]


def parse_units(text: str) -> int:
    last = text[13]
    if last in POSITIVE:
        return int(text[:13] + str(POSITIVE.index(last)))
    return -int(text[:13] + str(NEGATIVE.index(last)))


def file_of(lines: list[str], separator: str = "\r\n", encoding: str = "latin-1") -> bytes:
    return (separator.join(lines) + separator).encode(encoding)


def entries_of(data: bytes) -> list[BankEntry | RejectedEntry]:
    return list(cfonb120.read(data).entries)


def only_entry(lines: list[str]) -> BankEntry:
    (entry,) = entries_of(file_of(lines))
    assert isinstance(entry, BankEntry), entry
    return entry


def only_rejection(lines: list[str]) -> RejectedEntry:
    (entry,) = entries_of(file_of(lines))
    assert isinstance(entry, RejectedEntry), entry
    return entry


def sample(name: str) -> ReadResult:
    return cfonb120.read((SAMPLES / name).read_bytes())


# --- samples ----------------------------------------------------------------------------------------


def test_crlf_latin1_sample_gives_every_movement() -> None:
    entries = list(sample("cfonb120_crlf_latin1.txt").entries)
    assert [
        (e.position, e.direction, e.amount_cents) for e in entries if isinstance(e, BankEntry)
    ] == [
        ("line 2", "credit", 51230),
        ("line 7", "credit", 84500),
        ("line 11", "debit", 3221),
    ]


def test_latin1_accents_are_decoded() -> None:
    first = next(sample("cfonb120_crlf_latin1.txt").entries)
    assert isinstance(first, BankEntry)
    assert first.payer_name == "MME RENÉE DUPRÉ"
    assert first.remittance == ("LOYER MARS 2026 LOGEMENT 12 RÉSIDENCE LES TILLEULS", "LOC 004512")


def test_utf8_lf_sample_with_two_accounts() -> None:
    result = sample("cfonb120_lf_utf8.txt")
    first, second = list(result.entries)
    assert isinstance(first, BankEntry) and isinstance(second, BankEntry)
    assert first.remittance == ("APL MARS 2026 BÉNÉFICIAIRE LOC 007731",)
    assert first.account_iban == "FR7630004005670009876543286"
    assert second.account_iban == ACCOUNT_IBAN
    assert [b.amount_cents for b in result.header.balances] == [-12050, 47950, 282509, 322509]


def test_file_without_line_separators_is_cut_into_records() -> None:
    (entry,) = list(sample("cfonb120_no_separators.txt").entries)
    assert isinstance(entry, BankEntry)
    assert entry.position == "record 2"
    assert (entry.amount_cents, entry.payer_name) == (70000, "M PAUL LEROY")


def test_header_has_balances_and_a_content_digest_as_message_id() -> None:
    data = (SAMPLES / "cfonb120_crlf_latin1.txt").read_bytes()
    header = cfonb120.read(data).header
    assert header.format == "cfonb120"
    assert header.message_id == hashlib.sha256(data).hexdigest()
    assert header.balances == (
        Balance(ACCOUNT_IBAN, "opening", 150000, "EUR", date(2026, 3, 2)),
        Balance(ACCOUNT_IBAN, "closing", 282509, "EUR", date(2026, 3, 2)),
    )


def test_returned_debit_carries_its_rejection_code_as_a_reversal() -> None:
    returned = list(sample("cfonb120_crlf_latin1.txt").entries)[2]
    assert isinstance(returned, BankEntry)
    assert (returned.direction, returned.amount_cents) == ("debit", 3221)
    assert (returned.reversal, returned.return_reason) == (True, "AM")
    assert returned.entry_text == "IMPAYE PRLV SEPA MOTIF: PROVISION INSUFFISANTE"


# --- line separators and encodings ------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\r\n", "\n", "\r", ""])
def test_every_line_separator_gives_the_same_entries(separator: str) -> None:
    lines = statement(movement(51230), complement("NPY", "MME DUPRE"))
    (entry,) = entries_of(file_of(lines, separator))
    assert isinstance(entry, BankEntry)
    assert (entry.amount_cents, entry.payer_name) == (51230, "MME DUPRE")


def test_utf8_accents_are_decoded() -> None:
    data = file_of(statement(movement(100), complement("NPY", "CHLOÉ")), encoding="utf-8")
    (entry,) = entries_of(data)
    assert isinstance(entry, BankEntry)
    assert entry.payer_name == "CHLOÉ"


def test_dos_end_of_file_marker_and_blank_lines_are_ignored() -> None:
    data = file_of(statement(movement(100))) + b"\r\n\x1a"
    assert len(entries_of(data)) == 1


# --- amounts ----------------------------------------------------------------------------------------


def test_negative_amount_with_two_decimals_is_a_debit_in_cents() -> None:
    entry = only_entry(statement(movement(0, amount="0000000000322J"), total=-3221))
    assert (entry.direction, entry.amount_cents) == ("debit", 3221)


@pytest.mark.parametrize(
    ("amount", "direction", "cents"),
    [
        ("0000000000000{", None, 0),
        ("0000000001234D", "credit", 12344),
        ("0000000000100}", "debit", 1000),
    ],
)
def test_last_character_carries_last_digit_and_sign(
    amount: str, direction: str | None, cents: int
) -> None:
    units = parse_units(amount)
    lines = statement(movement(units, amount=amount))
    if direction is None:
        assert only_rejection(lines).reason == "The movement amount is zero."
    else:
        entry = only_entry(lines)
        assert (entry.direction, entry.amount_cents) == (direction, cents)


def test_amount_is_scaled_by_the_decimals_digit() -> None:
    lines = [
        balance("01", 100000, decimals="3"),
        movement(32210, decimals="3"),
        balance("07", 132210, decimals="3"),
    ]
    assert only_entry(lines).amount_cents == 3221


def test_unreadable_movement_amount_makes_the_statement_unbalanced() -> None:
    lines = statement(movement(0, amount="00000000003X2J"), total=-3221)
    with pytest.raises(StructuralError, match="does not balance"):
        cfonb120.read(file_of(lines))


# --- balance check ----------------------------------------------------------------------------------


def test_unbalanced_statement_is_refused_naming_the_account_and_both_figures() -> None:
    lines = statement(movement(51230), movement(-3221, entry_number="0000102"), total=50000)
    with pytest.raises(StructuralError) as raised:
        cfonb120.read(file_of(lines))
    message = str(raised.value)
    assert ACCOUNT_IBAN in message
    assert "1480.09" in message  # 1000.00 + 512.30 - 32.21
    assert "1500.00" in message  # what the 07 says


def test_file_without_old_balance_record_is_refused() -> None:
    with pytest.raises(StructuralError, match="no old-balance record 01"):
        cfonb120.read(file_of([movement(100), balance("07", 100)]))


def test_movement_before_any_old_balance_is_refused() -> None:
    with pytest.raises(StructuralError, match="outside a statement"):
        cfonb120.read(file_of([movement(100), *statement(movement(100))]))


def test_statement_without_new_balance_is_refused() -> None:
    with pytest.raises(StructuralError, match="no new-balance record 07"):
        cfonb120.read(file_of(statement(movement(100))[:-1]))


def test_movement_of_another_account_inside_a_statement_is_refused() -> None:
    lines = statement(movement(100, account="00099999999"))
    with pytest.raises(StructuralError, match="account 00099999999"):
        cfonb120.read(file_of(lines))


def test_unknown_record_code_is_refused() -> None:
    lines = statement(movement(100))
    lines.insert(2, "03" + lines[1][2:])
    with pytest.raises(StructuralError, match="unknown CFONB record code '03'"):
        cfonb120.read(file_of(lines))


# --- truncated records ------------------------------------------------------------------------------


def test_truncated_movement_is_rejected_and_the_others_kept() -> None:
    truncated = movement(100, entry_number="0000102")[:110]
    entries = entries_of(file_of(statement(movement(51230), truncated)))
    assert isinstance(entries[0], BankEntry)
    assert entries[1] == RejectedEntry(
        position="line 3",
        reason="The movement record is 110 characters long instead of 120 (truncated).",
    )


def test_truncated_complement_rejects_its_movement() -> None:
    lines = statement(movement(100), complement("NPY", "MME DUPRE")[:80])
    rejection = only_rejection(lines)
    assert rejection.position == "line 2"
    assert "complement record 05 at line 3 is 80 characters long" in rejection.reason


@pytest.mark.parametrize("index", [0, -1])
def test_truncated_balance_record_is_refused(index: int) -> None:
    lines = statement(movement(100))
    lines[index] = lines[index][:100]
    with pytest.raises(StructuralError, match="100 characters long instead of 120"):
        cfonb120.read(file_of(lines))


# --- movement checks --------------------------------------------------------------------------------


def test_foreign_currency_movement_is_rejected_with_its_position() -> None:
    lines = statement(movement(51230), movement(2000, currency="USD", entry_number="0000102"))
    rejection = entries_of(file_of(lines))[1]
    assert rejection == RejectedEntry(
        position="line 3",
        reason="The movement currency is 'USD'; only EUR movements are accepted.",
    )


def test_impossible_booking_date_is_rejected() -> None:
    lines = statement(movement(100, day="300226", value_day="020326"))
    assert only_rejection(lines).reason == "The booking date '300226' is not a valid date (DDMMYY)."


def test_dates_and_codes_are_read() -> None:
    entry = only_entry(statement(movement(100, value_day="040326")))
    assert (entry.booking_date, entry.value_date) == (date(2026, 3, 2), date(2026, 3, 4))
    assert (entry.status, entry.bank_transaction_code) == ("booked", "05")
    assert entry.account_iban == ACCOUNT_IBAN


def test_complement_without_a_movement_is_rejected() -> None:
    lines = statement(complement("NPY", "MME DUPRE"))
    assert only_rejection(lines).reason == (
        "The complement record 05 has no movement record 04 before it."
    )


# --- 05 qualifiers ----------------------------------------------------------------------------------


def test_complement_qualifiers_fill_the_movement() -> None:
    entry = only_entry(
        statement(
            movement(51230, label="VIR SEPA RECU /DE MME DUPRE"),
            complement("NPY", "MME RENEE DUPRE"),
            complement("IPY", "FR14 2004 1010 0505 0001 3M02 606"),
            complement("LCC", "LOYER MARS 2026"),
            complement("LC2", "LOC 004512"),
            complement("LCS", "RF18539007547034"),
            complement("RCN", "E2E-DUPRE-202603"),
            complement("LIB", "SUITE DU LIBELLE"),
            complement("NPO", "M DUPRE PERE"),
        )
    )
    assert entry.payer_name == "MME RENEE DUPRE"
    assert entry.payer_iban == "FR1420041010050500013M02606"
    assert entry.remittance == ("LOYER MARS 2026", "LOC 004512")
    assert entry.structured_reference == "RF18539007547034"
    assert entry.end_to_end_id == "E2E-DUPRE-202603"
    assert entry.entry_text == "VIR SEPA RECU /DE MME DUPRE SUITE DU LIBELLE"


def test_payer_identifier_that_is_not_an_iban_is_not_taken_as_one() -> None:
    entry = only_entry(statement(movement(100), complement("IPY", "SIRET 12345678900011")))
    assert entry.payer_iban is None


def test_notprovided_end_to_end_reference_becomes_none() -> None:
    entry = only_entry(statement(movement(100), complement("RCN", "NOTPROVIDED")))
    assert entry.end_to_end_id is None


# --- identity ---------------------------------------------------------------------------------------


def test_entry_id_is_built_from_bank_account_date_entry_number_and_reference() -> None:
    entry = only_entry(statement(movement(100, entry_number="0000777", reference="ABC123")))
    assert entry.entry_id == "cfonb|30004|00567|00012345678|20260302|0000777|ABC123"


def test_the_same_statement_in_two_files_gives_the_same_ids() -> None:
    day_one = statement(movement(51230), movement(2000, entry_number="0000102"))
    both_days = [*day_one, *statement(movement(900, day="030326", entry_number="0000201"))]
    first = [e.entry_id for e in entries_of(file_of(day_one)) if isinstance(e, BankEntry)]
    second = [e.entry_id for e in entries_of(file_of(both_days, "\n")) if isinstance(e, BankEntry)]
    assert second[:2] == first
    assert len(set(second)) == 3


def test_identical_movements_without_references_get_distinct_ids() -> None:
    twin = movement(100, entry_number="       ", reference=" " * 16)
    first, second = entries_of(file_of(statement(twin, twin)))
    assert isinstance(first, BankEntry) and isinstance(second, BankEntry)
    assert second.entry_id == first.entry_id + "#2"
