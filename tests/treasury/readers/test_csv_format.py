"""Régie CSV reader: delimiters, decimal marks, encodings, and line-numbered rejections."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

from regie.treasury.readers import csv_format
from regie.treasury.records import BankEntry, RejectedEntry, StructuralError

SAMPLES = Path(__file__).parent / "samples"
HEADER = (
    "reference;date_comptable;date_valeur;montant;devise;payeur;iban_payeur;libelle;code_locataire"
)


def entries_of(data: bytes) -> list[BankEntry | RejectedEntry]:
    return list(csv_format.read(data).entries)


def sample(name: str) -> list[BankEntry | RejectedEntry]:
    return entries_of((SAMPLES / name).read_bytes())


def one_line(line: str, header: str = HEADER) -> BankEntry | RejectedEntry:
    (entry,) = entries_of(f"{header}\n{line}\n".encode())
    return entry


def accepted(line: str, header: str = HEADER) -> BankEntry:
    entry = one_line(line, header)
    assert isinstance(entry, BankEntry), entry
    return entry


def rejected(line: str, header: str = HEADER) -> RejectedEntry:
    entry = one_line(line, header)
    assert isinstance(entry, RejectedEntry), entry
    return entry


# --- samples ----------------------------------------------------------------------------------------


def test_semicolon_decimal_comma_windows_1252_sample() -> None:
    first = sample("csv_semicolon_comma_cp1252.csv")[0]
    assert first == BankEntry(
        position="line 2",
        entry_id="csv|ref|TRS-2026-000451",
        direction="credit",
        amount_cents=51230,
        currency="EUR",
        booking_date=date(2026, 3, 2),
        value_date=date(2026, 3, 2),
        status="booked",
        payer_name="Mme Renée Dupré",
        payer_iban="FR1420041010050500013M02606",
        remittance=("Loyer mars 2026",),
        tenant_code="004512",
    )


def test_non_breaking_space_and_dot_group_thousands_with_a_decimal_comma() -> None:
    entries = sample("csv_semicolon_comma_cp1252.csv")
    amounts = {e.position: e.amount_cents for e in entries if isinstance(e, BankEntry)}
    assert amounts["line 3"] == 184500  # "1 845,00" with a non-breaking space
    assert amounts["line 8"] == 120000  # "1.200,00"


def test_negative_amount_is_a_debit_and_empty_currency_means_euro() -> None:
    debit = sample("csv_semicolon_comma_cp1252.csv")[2]
    assert isinstance(debit, BankEntry)
    assert (debit.direction, debit.amount_cents, debit.currency) == ("debit", 3221, "EUR")


def test_bad_lines_are_reported_with_their_line_numbers() -> None:
    rejections = [
        e for e in sample("csv_semicolon_comma_cp1252.csv") if isinstance(e, RejectedEntry)
    ]
    assert rejections == [
        RejectedEntry(
            "line 5",
            "The booking date '31/02/2026' is not a valid date (DD/MM/YYYY or YYYY-MM-DD).",
        ),
        RejectedEntry("line 6", "The amount '12,5O' is not a valid amount."),
        RejectedEntry("line 7", "The currency is 'USD'; only EUR amounts are accepted."),
    ]


def test_comma_decimal_point_utf8_bom_sample() -> None:
    entries = sample("csv_comma_point_utf8_bom.csv")
    first, second = entries[0], entries[1]
    assert isinstance(first, BankEntry) and isinstance(second, BankEntry)
    assert (first.amount_cents, first.payer_name) == (51230, "Renée Dupré")
    assert first.remittance == ("Loyer mars 2026, logement 12",)
    assert second.amount_cents == 184500  # "1,845.00"


def test_quoted_multi_line_remittance_keeps_later_line_numbers_right() -> None:
    entries = sample("csv_comma_point_utf8_bom.csv")
    third = entries[2]
    assert isinstance(third, BankEntry)
    assert third.remittance == ("Rejet prélèvement", "février")
    assert [e.position for e in entries[3:]] == ["line 6", "line 7"]


def test_more_than_two_decimals_and_a_bad_iban_are_rejected() -> None:
    assert sample("csv_comma_point_utf8_bom.csv")[3:] == [
        RejectedEntry("line 6", "The amount '45.999' has more than two decimals."),
        RejectedEntry(
            "line 7", "The payer IBAN 'FR7630004005670001234567800' is not a valid IBAN."
        ),
    ]


def test_header_gives_a_content_digest_as_message_id() -> None:
    data = (SAMPLES / "csv_comma_point_utf8_bom.csv").read_bytes()
    header = csv_format.read(data).header
    assert (header.format, header.version) == ("csv", None)
    assert header.message_id == hashlib.sha256(data).hexdigest()


# --- header -----------------------------------------------------------------------------------------


def test_header_names_ignore_case_accents_and_spaces() -> None:
    header = "Référence;Date Comptable;MONTANT;Libellé;Code-Locataire"
    entry = accepted("R1;02/03/2026;10,00;Loyer;L42", header)
    assert (entry.entry_id, entry.remittance, entry.tenant_code) == (
        "csv|ref|R1",
        ("Loyer",),
        "L42",
    )


def test_english_header_names_are_accepted() -> None:
    entry = accepted("2026-03-02,12.50,Jane Doe", "booking_date,amount,payer_name")
    assert (entry.booking_date, entry.amount_cents, entry.payer_name) == (
        date(2026, 3, 2),
        1250,
        "Jane Doe",
    )


def test_unknown_columns_are_ignored() -> None:
    assert accepted("02/03/2026;10,00;x", "date_comptable;montant;commentaire").amount_cents == 1000


def test_missing_required_column_is_a_structural_error() -> None:
    with pytest.raises(StructuralError, match="date_comptable and montant"):
        csv_format.read(b"reference;montant\nR1;10,00\n")


def test_file_without_header_row_is_a_structural_error() -> None:
    with pytest.raises(StructuralError, match="no header row"):
        csv_format.read(b"R1;02/03/2026;10,00\n")


def test_duplicated_column_is_a_structural_error() -> None:
    with pytest.raises(StructuralError, match="'amount' twice"):
        csv_format.read(b"date;montant;amount\n02/03/2026;1;1\n")


def test_file_in_neither_accepted_encoding_is_a_structural_error() -> None:
    with pytest.raises(StructuralError, match="neither UTF-8 nor Windows-1252"):
        csv_format.read(b"date;montant\n02/03/2026;1\x81\n")


# --- amounts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mark", "cents"),
    [
        ("12", ",", 1200),
        ("12,5", ",", 1250),
        ("-1 234,56", ",", -123456),
        ("1\u202f234,56", ",", 123456),
        ("1.234.567,89", ",", 123456789),
        ("+1,234.56", ".", 123456),
        ("1234.50 €", ".", 123450),
        ("\u22123.20", ".", -320),
        ("12,500", ",", 1250),
    ],
)
def test_amount_forms_are_parsed_exactly(text: str, mark: str, cents: int) -> None:
    assert csv_format.parse_amount(text, mark) == cents


@pytest.mark.parametrize("text", ["12.50", "1.23,4.5", "1 23,00", "12,34,56", "abc", "--5", ",50"])
def test_malformed_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a valid amount"):
        csv_format.parse_amount(text, ",")


def test_decimal_mark_is_recognised_over_the_whole_file() -> None:
    data = b"date;montant\n02/03/2026;1.234\n02/03/2026;12.50\n02/03/2026;8.20\n"
    amounts = [e.amount_cents for e in entries_of(data) if isinstance(e, BankEntry)]
    # A decimal point everywhere: "1.234" is then a sub-cent amount, not 1,234 euros.
    assert amounts == [1250, 820]


def test_zero_amount_is_rejected() -> None:
    assert rejected("R1;02/03/2026;;0,00;;;;;").reason == "The amount is zero."


def test_missing_amount_is_rejected() -> None:
    assert rejected("R1;02/03/2026;;;;;;;").reason == "The amount is missing."


# --- other fields -----------------------------------------------------------------------------------


def test_french_and_iso_dates_are_accepted() -> None:
    entry = accepted("R1;02/03/2026;2026-03-04;10,00;;;;;")
    assert (entry.booking_date, entry.value_date) == (date(2026, 3, 2), date(2026, 3, 4))


def test_missing_booking_date_is_rejected() -> None:
    assert rejected("R1;;;10,00;;;;;").reason == "The booking date is missing."


def test_impossible_value_date_is_rejected() -> None:
    reason = rejected("R1;02/03/2026;2026-02-30;10,00;;;;;").reason
    assert reason.startswith("The value date '2026-02-30' is not a valid date")


def test_line_with_too_few_fields_is_rejected() -> None:
    assert (
        rejected("R1;02/03/2026;;10,00").reason == "The line has 4 fields where the header has 9."
    )


def test_trailing_empty_fields_are_tolerated() -> None:
    assert accepted("R1;02/03/2026;;10,00;;;;;;;;").amount_cents == 1000


def test_payer_iban_is_normalised() -> None:
    entry = accepted("R1;02/03/2026;;10,00;;;fr14 2004 1010 0505 0001 3m02 606;;")
    assert entry.payer_iban == "FR1420041010050500013M02606"


def test_lines_without_reference_get_distinct_stable_ids() -> None:
    data = f"{HEADER}\n;02/03/2026;;10,00;;X;;;\n;02/03/2026;;10,00;;X;;;\n".encode()
    first, second = entries_of(data)
    assert isinstance(first, BankEntry) and isinstance(second, BankEntry)
    assert first.entry_id.startswith("csv|content|")
    assert second.entry_id == first.entry_id + "#2"
    assert [e.entry_id for e in entries_of(data) if isinstance(e, BankEntry)] == [
        first.entry_id,
        second.entry_id,
    ]


def test_blank_lines_are_skipped_but_counted() -> None:
    data = f"{HEADER}\n\nR1;02/03/2026;;oops;;;;;\n".encode()
    (entry,) = entries_of(data)
    assert entry == RejectedEntry("line 3", "The amount 'oops' is not a valid amount.")


def test_byte_order_mark_on_a_file_that_is_not_utf8_is_a_structural_error() -> None:
    with pytest.raises(StructuralError, match="byte order mark but is not UTF-8"):
        csv_format.read(b"\xef\xbb\xbfdate;montant\n02/03/2026;1\xe9\n")


def test_unreadable_csv_is_a_structural_error_raised_before_any_entry() -> None:
    with pytest.raises(StructuralError, match="cannot be read"):
        csv_format.read(b'date;montant;libelle\n02/03/2026;1;"' + b"x" * 200_000 + b'"\n')
