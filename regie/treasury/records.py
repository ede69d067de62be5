"""What the file readers produce: immutable records, free of any database or format detail.

Money is always integer cents. A reader never applies anything: it describes what a file says,
and the importer decides what to do with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, NamedTuple

Direction = Literal["credit", "debit"]
EntryStatus = Literal["booked", "pending", "info"]
BalanceKind = Literal["opening", "closing"]


class StructuralError(Exception):
    """The file as a whole cannot be trusted: nothing of it may be applied.

    The message says what is wrong and where (line, record or XML element).
    """


class BankEntry(NamedTuple):
    """One credit or debit transaction, as the file describes it.

    `amount_cents` is always positive; `direction` carries the sign, seen from the landlord's
    account (credit = money received). `reversal` marks the cancellation of an earlier booking, in
    which case `direction` is the direction of this booking (a reversed credit is a debit with
    `reversal=True`).

    A named tuple rather than a frozen dataclass: a large file makes hundreds of thousands of
    them (read in one process, rebuilt in the importing one), and a tuple of twenty fields is
    built three times faster. Compare records with records, not with plain tuples.
    """

    position: str
    entry_id: str
    direction: Direction
    amount_cents: int
    currency: str
    booking_date: date | None
    value_date: date | None
    status: EntryStatus
    reversal: bool = False
    payer_name: str | None = None
    payer_iban: str | None = None
    remittance: tuple[str, ...] = ()
    structured_reference: str | None = None
    end_to_end_id: str | None = None
    mandate_id: str | None = None
    return_reason: str | None = None
    bank_transaction_code: str | None = None
    account_iban: str | None = None
    entry_text: str | None = None
    tenant_code: str | None = None


@dataclass(frozen=True, slots=True)
class RejectedEntry:
    """An entry the reader cannot accept. `reason` is one English sentence naming what was wrong."""

    position: str
    reason: str


@dataclass(frozen=True, slots=True)
class Pagination:
    """Message pagination (camt `GrpHdr/MsgPgntn`): several files may make one message."""

    page_number: int
    last_page: bool


@dataclass(frozen=True, slots=True)
class Balance:
    """A statement control balance. `amount_cents` is signed: negative means overdrawn."""

    account: str | None
    kind: BalanceKind
    amount_cents: int
    currency: str
    date: date | None


@dataclass(frozen=True, slots=True)
class FileHeader:
    """File-level facts.

    `message_id` identifies the file: the camt `GrpHdr/MsgId`, or for formats without one the
    SHA-256 of the content (hex), so that importing the same file twice can be recognised.
    """

    format: str
    version: str | None
    message_id: str
    created_at: datetime | None = None
    pagination: Pagination | None = None
    balances: tuple[Balance, ...] = ()


@dataclass(frozen=True, slots=True)
class ReadResult:
    """A file that passed the structural checks: its header and its entries, one at a time.

    `entries` is a single-use iterator; it never raises `StructuralError`.
    """

    header: FileHeader
    entries: Iterator[BankEntry | RejectedEntry]
