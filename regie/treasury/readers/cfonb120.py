"""CFONB 120: the French fixed-width account statement ("relevé de compte 120 caractères").

A file holds one or more statements: an old-balance record 01, movements 04 each followed by their
complements 05, and a new-balance record 07. Positions below are 1-based and inclusive, as in the
CFONB specification.

A statement is checked as a whole before any of its movements is handed out: its new balance must
equal the old balance plus every movement, otherwise the file is refused (`StructuralError`). CFONB
files are small (one line per movement), so the file is read completely up front.

Amount signs are seen from the account holder: positive = credit = money received.

Entry identity: bank, branch and account number, booking date, entry number and the movement's
reference, so two daily files that both contain a day's statement give the same ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final

from regie.treasury.readers.dates import parse_ddmmyy
from regie.treasury.readers.iban import french_iban, is_valid_iban, normalize_iban
from regie.treasury.readers.identity import UniqueIds, content_digest
from regie.treasury.readers.money import AmountError, scaled_to_cents
from regie.treasury.records import (
    Balance,
    BankEntry,
    FileHeader,
    ReadResult,
    RejectedEntry,
    StructuralError,
)

FORMAT: Final = "cfonb120"
RECORD_LENGTH: Final = 120
ACCEPTED_CURRENCY: Final = "EUR"

OLD_BALANCE, MOVEMENT, COMPLEMENT, NEW_BALANCE = "01", "04", "05", "07"
_RECORD_NAMES = {
    OLD_BALANCE: "old-balance record 01",
    MOVEMENT: "movement record 04",
    COMPLEMENT: "complement record 05",
    NEW_BALANCE: "new-balance record 07",
}
# The last character of an amount carries its last digit and its sign.
_POSITIVE = "{ABCDEFGHI"
_NEGATIVE = "}JKLMNOPQR"
_AMOUNT = re.compile(r"\d{13}[{}A-R]")
_NOT_PROVIDED = "NOTPROVIDED"
# End-of-file marker left by old DOS transfer tools.
_SUBSTITUTE = "\x1a"


@dataclass(frozen=True, slots=True)
class _Record:
    position: str  # "line 4", or "record 4" in a file without line separators
    text: str

    @property
    def code(self) -> str:
        return self.text[0:2]

    def field(self, first: int, last: int) -> str:
        """Positions `first`…`last`, 1-based and inclusive."""
        return self.text[first - 1 : last]

    @property
    def account_key(self) -> tuple[str, str, str]:
        return (self.field(3, 7), self.field(12, 16), self.field(22, 32))


def read(data: bytes) -> ReadResult:
    """Read a CFONB 120 file; raises `StructuralError` if any statement is broken or unbalanced."""
    records = _split(_decode(data))
    if not any(record.code == OLD_BALANCE for record in records):
        raise StructuralError("The CFONB file has no old-balance record 01.")
    statements = _statements(records)
    balances: list[Balance] = []
    for statement in statements:
        balances += [statement.opening, statement.closing]
    header = FileHeader(
        format=FORMAT, version=None, message_id=content_digest(data), balances=tuple(balances)
    )
    return ReadResult(header=header, entries=_entries(statements))


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # Most French banks still write ISO-8859-1, and every byte is a character in it.
        text = data.decode("latin-1")
    return text.rstrip(_SUBSTITUTE)


def _split(text: str) -> list[_Record]:
    if "\n" in text or "\r" in text:
        lines = re.split(r"\r\n|\r|\n", text)
        return [
            _Record(position=f"line {number}", text=line)
            for number, line in enumerate(lines, start=1)
            if line.strip()
        ]
    chunks = [text[start : start + RECORD_LENGTH] for start in range(0, len(text), RECORD_LENGTH)]
    return [
        _Record(position=f"record {number}", text=chunk)
        for number, chunk in enumerate(chunks, start=1)
        if chunk.strip()
    ]


# --- statements ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Movement:
    record: _Record
    # Set when the movement cannot be accepted; the statement still counts its amount.
    rejection: str | None = None
    entry: BankEntry | None = None
    complements: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class _Statement:
    opening_record: _Record
    opening: Balance
    opening_value: Decimal
    movements: list[_Movement | RejectedEntry] = field(default_factory=list)
    total: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class _ClosedStatement:
    opening: Balance
    closing: Balance
    movements: list[_Movement | RejectedEntry]


def _statements(records: list[_Record]) -> list[_ClosedStatement]:
    closed: list[_ClosedStatement] = []
    current: _Statement | None = None
    for record in records:
        code = record.code
        if code == OLD_BALANCE:
            if current is not None:
                raise StructuralError(
                    f"{record.position}: a new statement starts before the new-balance record 07 "
                    f"of the statement opened at {current.opening_record.position}."
                )
            current = _open_statement(record)
        elif code in (MOVEMENT, COMPLEMENT, NEW_BALANCE):
            if current is None:
                raise StructuralError(
                    f"{record.position}: {_RECORD_NAMES[code]} outside a statement "
                    "(no old-balance record 01 before it)."
                )
            _check_same_account(record, current)
            if code == MOVEMENT:
                _add_movement(record, current)
            elif code == COMPLEMENT:
                _add_complement(record, current)
            else:
                closed.append(_close_statement(record, current))
                current = None
        else:
            raise StructuralError(f"{record.position}: unknown CFONB record code '{code}'.")
    if current is not None:
        raise StructuralError(
            f"The statement opened at {current.opening_record.position} has no new-balance "
            "record 07."
        )
    return closed


def _open_statement(record: _Record) -> _Statement:
    _require_full_length(record)
    balance, value = _balance(record, "opening")
    return _Statement(opening_record=record, opening=balance, opening_value=value)


def _close_statement(record: _Record, statement: _Statement) -> _ClosedStatement:
    _require_full_length(record)
    closing, closing_value = _balance(record, "closing")
    expected = statement.opening_value + statement.total
    if closing_value != expected:
        raise StructuralError(
            f"{record.position}: the statement of account {closing.account} does not balance: "
            f"old balance {statement.opening_value} plus movements {statement.total} makes "
            f"{expected}, but the new balance (07) is {closing_value}."
        )
    return _ClosedStatement(
        opening=statement.opening, closing=closing, movements=statement.movements
    )


def _require_full_length(record: _Record) -> None:
    if len(record.text) != RECORD_LENGTH:
        raise StructuralError(
            f"{record.position}: the {_RECORD_NAMES[record.code]} is {len(record.text)} characters "
            f"long instead of {RECORD_LENGTH}."
        )


def _check_same_account(record: _Record, statement: _Statement) -> None:
    if len(record.text) < 32:
        return  # too short to tell; the truncated record is reported on its own
    if record.account_key != statement.opening_record.account_key:
        bank, branch, account = record.account_key
        raise StructuralError(
            f"{record.position}: the {_RECORD_NAMES[record.code]} is for account {account} "
            f"(bank {bank}, branch {branch}), not for the account of the statement opened at "
            f"{statement.opening_record.position}."
        )


def _balance(record: _Record, kind: str) -> tuple[Balance, Decimal]:
    name = _RECORD_NAMES[record.code]
    try:
        decimals = _decimals(record)
        units = _signed_units(record.field(91, 104))
        when = _date(record.field(35, 40), "balance date")
        cents = _cents(units, decimals)
    except ValueError as exc:
        raise StructuralError(f"{record.position}: the {name} cannot be read. {exc}") from None
    balance = Balance(
        account=_account_label(record),
        kind="opening" if kind == "opening" else "closing",
        amount_cents=cents,
        currency=record.field(17, 19),
        date=when,
    )
    return balance, Decimal(units).scaleb(-decimals)


def _add_movement(record: _Record, statement: _Statement) -> None:
    movement = _Movement(record=record)
    statement.movements.append(movement)
    try:
        units = _signed_units(record.field(91, 104))
        statement.total += Decimal(units).scaleb(-_decimals(record))
    except ValueError as exc:
        # The statement will then not balance, which refuses the whole file.
        movement.rejection = str(exc)
        return
    if len(record.text) != RECORD_LENGTH:
        movement.rejection = (
            f"The movement record is {len(record.text)} characters long instead of "
            f"{RECORD_LENGTH} (truncated)."
        )


def _add_complement(record: _Record, statement: _Statement) -> None:
    last = statement.movements[-1] if statement.movements else None
    if not isinstance(last, _Movement):
        statement.movements.append(
            RejectedEntry(
                position=record.position,
                reason="The complement record 05 has no movement record 04 before it.",
            )
        )
        return
    if len(record.text) != RECORD_LENGTH and last.rejection is None:
        last.rejection = (
            f"Its complement record 05 at {record.position} is {len(record.text)} characters "
            f"long instead of {RECORD_LENGTH} (truncated)."
        )
    qualifier = record.field(46, 48).strip()
    information = record.field(49, 118).rstrip()
    last.complements.append((qualifier, information))


# --- entries -------------------------------------------------------------------------------------


def _entries(statements: list[_ClosedStatement]) -> Iterator[BankEntry | RejectedEntry]:
    ids = UniqueIds()
    for statement in statements:
        for movement in statement.movements:
            if isinstance(movement, RejectedEntry):
                yield movement
            elif movement.rejection is not None:
                yield RejectedEntry(position=movement.record.position, reason=movement.rejection)
            else:
                yield _bank_entry(movement, ids)


def _bank_entry(movement: _Movement, ids: UniqueIds) -> BankEntry | RejectedEntry:
    record = movement.record
    try:
        currency = record.field(17, 19)
        if currency != ACCEPTED_CURRENCY:
            raise ValueError(
                f"The movement currency is '{currency}'; only {ACCEPTED_CURRENCY} movements are "
                "accepted."
            )
        units = _signed_units(record.field(91, 104))
        cents = _cents(units, _decimals(record))
        if cents == 0:
            raise ValueError("The movement amount is zero.")
        booking_date = _date(record.field(35, 40), "booking date")
        value_text = record.field(43, 48)
        value_date = _date(value_text, "value date") if value_text.strip() else None
    except ValueError as exc:
        return RejectedEntry(position=record.position, reason=str(exc))

    complements = _Complements.read(movement.complements)
    bank, branch, account = (part.strip() for part in record.account_key)
    reference = record.field(105, 120).strip() or complements.bank_reference or ""
    entry_number = record.field(82, 88).strip()
    key = f"cfonb|{bank}|{branch}|{account}|{booking_date:%Y%m%d}|{entry_number}|{reference}"
    rejection_code = record.field(41, 42).strip()
    label = " ".join(record.field(49, 79).split())
    text = " ".join(part for part in (label, *complements.labels) if part)
    return BankEntry(
        position=record.position,
        entry_id=ids.make(key),
        direction="debit" if units < 0 else "credit",
        amount_cents=abs(cents),
        currency=currency,
        booking_date=booking_date,
        value_date=value_date,
        status="booked",
        # A rejection code marks the return of an earlier operation (unpaid direct debit …).
        reversal=bool(rejection_code),
        payer_name=complements.payer_name,
        payer_iban=complements.payer_iban,
        remittance=complements.remittance,
        structured_reference=complements.structured_reference,
        end_to_end_id=complements.end_to_end_id,
        return_reason=rejection_code or None,
        bank_transaction_code=record.field(33, 34).strip() or None,
        account_iban=french_iban(bank, branch, account),
        entry_text=text or None,
    )


@dataclass(frozen=True, slots=True)
class _Complements:
    """What the 05 records add to their movement, by qualifier (46–48)."""

    payer_name: str | None = None
    payer_iban: str | None = None
    remittance: tuple[str, ...] = ()
    structured_reference: str | None = None
    end_to_end_id: str | None = None
    bank_reference: str | None = None
    labels: tuple[str, ...] = ()

    @classmethod
    def read(cls, complements: list[tuple[str, str]]) -> _Complements:
        values: dict[str, list[str]] = {}
        for qualifier, information in complements:
            text = " ".join(information.split())
            if text:
                values.setdefault(qualifier, []).append(text)

        def first(qualifier: str) -> str | None:
            found = values.get(qualifier)
            return found[0] if found else None

        payer_id = normalize_iban(first("IPY") or "")
        end_to_end = first("RCN")
        return cls(
            payer_name=first("NPY"),
            # IPY is a free payer identifier; only an IBAN is worth keeping as one.
            payer_iban=payer_id if is_valid_iban(payer_id) else None,
            remittance=tuple(values.get("LCC", []) + values.get("LC2", [])),
            structured_reference=first("LCS"),
            end_to_end_id=None if end_to_end in (None, _NOT_PROVIDED) else end_to_end,
            bank_reference=first("REF"),
            labels=tuple(values.get("LIB", [])),
        )


# --- fields --------------------------------------------------------------------------------------


def _signed_units(text: str) -> int:
    """13 digits and a sign-carrying last character: `0000000000322J` → -3221 units."""
    if _AMOUNT.fullmatch(text) is None:
        raise ValueError(
            f"The amount '{text}' is not a CFONB amount (13 digits and a sign character)."
        )
    last = text[13]
    if last in _POSITIVE:
        return int(text[:13] + str(_POSITIVE.index(last)))
    return -int(text[:13] + str(_NEGATIVE.index(last)))


def _decimals(record: _Record) -> int:
    digit = record.field(20, 20)
    if not digit.isdigit():
        raise ValueError(f"The number of decimals '{digit}' at position 20 is not a digit.")
    return int(digit)


def _cents(units: int, decimals: int) -> int:
    try:
        return scaled_to_cents(units, decimals)
    except AmountError:
        raise ValueError(
            f"The amount {units} with {decimals} decimals is not a whole number of cents."
        ) from None


def _date(text: str, what: str) -> date:
    try:
        return parse_ddmmyy(text)
    except ValueError:
        raise ValueError(f"The {what} '{text}' is not a valid date (DDMMYY).") from None


def _account_label(record: _Record) -> str:
    bank, branch, account = (part.strip() for part in record.account_key)
    return french_iban(bank, branch, account) or f"{bank} {branch} {account}"
