"""Régie's own CSV format, for treasuries and offices that export spreadsheets.

The format is documented for users in docs/csv-format.md; keep the two in step.

- A header row names the columns, in French or English, in any case and with or without accents;
  `date_comptable`/`booking_date` and `montant`/`amount` are required, unknown columns are ignored.
- The delimiter is `;` or `,`, recognised from the header row.
- Amounts are signed (negative = debit) with a decimal comma or point, recognised over the whole
  file; spaces, non-breaking spaces and the other mark (`.` with a decimal comma, `,` with a
  decimal point) may group thousands. A `€` sign is ignored.
- Dates are `DD/MM/YYYY` or `YYYY-MM-DD`.
- The encoding is UTF-8 (with or without BOM), else Windows-1252.

Entry identity: the `reference` column when filled, else a digest of the line's content.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Final

from regie.treasury.readers.dates import parse_french_or_iso_date
from regie.treasury.readers.iban import is_valid_iban, normalize_iban
from regie.treasury.readers.identity import UniqueIds, content_digest, fingerprint
from regie.treasury.readers.money import AmountError, decimal_to_cents
from regie.treasury.records import (
    BankEntry,
    Direction,
    FileHeader,
    ReadResult,
    RejectedEntry,
    StructuralError,
)

FORMAT: Final = "csv"
ACCEPTED_CURRENCY: Final = "EUR"
DELIMITERS: Final = (";", ",")

# Canonical field → accepted header names (after normalisation: lower case, no accents, `_`).
COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "reference": ("reference", "ref"),
    "booking_date": ("date_comptable", "booking_date", "date_operation", "date"),
    "value_date": ("date_valeur", "value_date"),
    "amount": ("montant", "amount"),
    "currency": ("devise", "currency"),
    "payer_name": ("payeur", "nom_payeur", "payer_name", "payer"),
    "payer_iban": ("iban_payeur", "payer_iban"),
    "remittance": ("libelle", "remittance", "remittance_information"),
    "tenant_code": ("code_locataire", "tenant_code"),
}
REQUIRED: Final = ("booking_date", "amount")

_SPACES = " \u00a0\u202f"
_MINUS_SIGNS = "-\u2212"
_DECIMAL_TAIL = re.compile(r"([.,])\d{1,2}$")


def read(data: bytes) -> ReadResult:
    """Read a CSV file; raises `StructuralError` when it has no usable header row."""
    text = _decode(data)
    layout = _layout(text)
    return ReadResult(
        header=FileHeader(format=FORMAT, version=None, message_id=content_digest(data)),
        entries=_entries(text, layout),
    )


def normalize_header(name: str) -> str:
    """'Date comptable' → 'date_comptable', 'Libellé' → 'libelle'."""
    decomposed = unicodedata.normalize("NFKD", name.strip().lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s\-]+", "_", plain)


def recognises_header(line: str) -> bool:
    """Whether `line` is a header row of this format (used by format detection)."""
    for delimiter in DELIMITERS:
        try:
            if _columns(next(csv.reader([line], delimiter=delimiter), [])) is not None:
                return True
        except (StructuralError, csv.Error):
            return True  # ours, but broken: let the reader say what is wrong
    return False


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StructuralError(
                f"The CSV file starts with a UTF-8 byte order mark but is not UTF-8 "
                f"(byte {exc.start + 3})."
            ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise StructuralError(
            f"The CSV file is neither UTF-8 nor Windows-1252 (byte {exc.start})."
        ) from None


@dataclass(frozen=True, slots=True)
class _Layout:
    delimiter: str
    columns: dict[str, int]  # canonical field → column index
    width: int
    header_line: int
    decimal_mark: str


def _columns(names: list[str]) -> dict[str, int] | None:
    """Map canonical fields to column indexes, or None if required columns are missing."""
    known = {alias: field for field, aliases in COLUMNS.items() for alias in aliases}
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        field = known.get(normalize_header(name))
        if field is None:
            continue
        if field in columns:
            raise StructuralError(f"The CSV header names the column '{field}' twice.")
        columns[field] = index
    if not all(field in columns for field in REQUIRED):
        return None
    return columns


def _layout(text: str) -> _Layout:
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    for delimiter in DELIMITERS:
        rows = _rows(text, delimiter)
        try:
            header_line, names = next(rows, (0, []))
            columns = _columns(names)
            if columns is None:
                continue
            # Reading every row here also means the entries pass cannot meet a csv.Error.
            marks = Counter(
                match[1]
                for _, row in rows
                if len(row) > columns["amount"]
                and (match := _DECIMAL_TAIL.search(_strip_amount(row[columns["amount"]])))
            )
        except csv.Error as exc:
            raise StructuralError(f"The CSV file cannot be read: {exc}.") from None
        # Amounts without decimals say nothing; a French `;` file then defaults to the comma.
        default = "," if delimiter == ";" else "."
        other = "." if default == "," else ","
        decimal_mark = other if marks[other] > marks[default] else default
        return _Layout(delimiter, columns, len(names), header_line, decimal_mark)
    raise StructuralError(
        "The CSV file has no header row with at least the columns date_comptable and montant "
        f"(or booking_date and amount); its first line is '{first_line[:80]}'."
    )


def _rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the physical line number where each starts."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next_line = 1
    for row in reader:
        start, next_line = next_line, reader.line_num + 1
        if any(cell.strip() for cell in row):
            yield start, row


def _entries(text: str, layout: _Layout) -> Iterator[BankEntry | RejectedEntry]:
    ids = UniqueIds()
    for line, row in _rows(text, layout.delimiter):
        if line <= layout.header_line:
            continue
        position = f"line {line}"
        try:
            yield _entry(row, layout, position, ids)
        except ValueError as exc:
            yield RejectedEntry(position=position, reason=str(exc))


def _entry(row: list[str], layout: _Layout, position: str, ids: UniqueIds) -> BankEntry:
    if len(row) < layout.width or any(cell.strip() for cell in row[layout.width :]):
        raise ValueError(f"The line has {len(row)} fields where the header has {layout.width}.")

    def cell(field: str) -> str:
        index = layout.columns.get(field)
        return "" if index is None else " ".join(row[index].split())

    signed = parse_amount(cell("amount"), layout.decimal_mark)
    if signed == 0:
        raise ValueError("The amount is zero.")
    booking_text = cell("booking_date")
    if not booking_text:
        raise ValueError("The booking date is missing.")
    booking_date = _date(booking_text, "booking date")
    value_text = cell("value_date")
    value_date = _date(value_text, "value date") if value_text else None
    currency = cell("currency").upper() or ACCEPTED_CURRENCY
    if currency != ACCEPTED_CURRENCY:
        raise ValueError(
            f"The currency is '{currency}'; only {ACCEPTED_CURRENCY} amounts are accepted."
        )
    payer_iban = normalize_iban(cell("payer_iban")) or None
    if payer_iban is not None and not is_valid_iban(payer_iban):
        raise ValueError(f"The payer IBAN '{cell('payer_iban')}' is not a valid IBAN.")
    direction: Direction = "debit" if signed < 0 else "credit"
    reference = cell("reference")
    payer_name = cell("payer_name") or None
    # A quoted cell may hold several lines of remittance text.
    remittance_cell = row[layout.columns["remittance"]] if "remittance" in layout.columns else ""
    remittance = tuple(
        " ".join(line.split()) for line in remittance_cell.splitlines() if line.strip()
    )
    tenant_code = cell("tenant_code") or None
    if reference:
        key = f"csv|ref|{reference}"
    else:
        digest = fingerprint(
            booking_date, value_date, signed, payer_name, payer_iban, remittance, tenant_code
        )
        key = f"csv|content|{digest}"
    return BankEntry(
        position=position,
        entry_id=ids.make(key),
        direction=direction,
        amount_cents=abs(signed),
        currency=currency,
        booking_date=booking_date,
        value_date=value_date,
        status="booked",
        payer_name=payer_name,
        payer_iban=payer_iban,
        remittance=remittance,
        tenant_code=tenant_code,
    )


def parse_amount(text: str, decimal_mark: str) -> int:
    """Signed cents from a spreadsheet amount: '-1 234,56' (mark ',') → -123456."""
    body = _strip_amount(text)
    negative = body[:1] in _MINUS_SIGNS
    if body[:1] in _MINUS_SIGNS or body[:1] == "+":
        body = body[1:]
    grouping = "." if decimal_mark == "," else ","
    whole, _, fraction = body.partition(decimal_mark)
    groups = re.split(f"[{_SPACES}{re.escape(grouping)}]", whole)
    well_grouped = all(g.isdigit() for g in groups) and (
        len(groups) == 1 or (len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]))
    )
    if not text.strip():
        raise ValueError("The amount is missing.")
    if not well_grouped or (fraction and not fraction.isdigit()) or decimal_mark in fraction:
        raise ValueError(f"The amount '{text.strip()}' is not a valid amount.")
    try:
        cents = decimal_to_cents(f"{''.join(groups)}.{fraction}" if fraction else "".join(groups))
    except AmountError:
        raise ValueError(f"The amount '{text.strip()}' has more than two decimals.") from None
    return -cents if negative else cents


def _strip_amount(text: str) -> str:
    return text.strip().strip("€").strip(_SPACES)


def _date(text: str, what: str) -> date:
    try:
        return parse_french_or_iso_date(text)
    except ValueError:
        raise ValueError(
            f"The {what} '{text}' is not a valid date (DD/MM/YYYY or YYYY-MM-DD)."
        ) from None
