"""ISO 20022 camt.054 (debit/credit notification) and camt.053 (statement), 001.02 to 001.08.

The file is read twice, both times as a stream whose elements are discarded as soon as they are
read, so no tree of the document is ever built (only an 8-byte digest per entry id is kept, to
keep ids unique):

1. a structural pass checks the whole document (well-formed, supported namespace, group header) and
   collects the header and the statement balances, so that a broken file raises `StructuralError`
   from `read()` before a single entry is handed out;
2. the entries pass yields one record per transaction while the caller iterates.

One `BankEntry` per `TxDtls` (with the transaction's amount, or the entry's when it is the only
transaction), or one per `Ntry` without details. A problem with the entry itself (status, amount,
dates) rejects it as a whole, with one `RejectedEntry` at the entry's position.

Entry identity (`BankEntry.entry_id`), scoped by the account: the entry's `AcctSvcrRef` (the bank's
booking reference) and the transaction's rank in the entry; else the transaction's own
`Refs/AcctSvcrRef`; else a digest of the transaction's content. A notification and the statement
that repeats it therefore give the same ids, with or without transaction details.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from io import BytesIO
from typing import Final

from lxml import etree

from regie.treasury.readers.dates import parse_iso_date, parse_iso_datetime
from regie.treasury.readers.iban import normalize_iban
from regie.treasury.readers.identity import UniqueIds, fingerprint
from regie.treasury.readers.money import AmountError, decimal_to_cents
from regie.treasury.readers.xml_index import (
    Element,
    ElementIndex,
    Paths,
    PathTree,
    collapse,
    collect_into,
    text,
)
from regie.treasury.readers.xml_pieces import CannotCut, Pieces
from regie.treasury.readers.xml_safety import (
    DEFAULT_MAX_BYTES,
    check_xml,
    safe_iterparse,
    safe_parser,
    sniff_encoding,
)
from regie.treasury.records import (
    Balance,
    BankEntry,
    Direction,
    EntryStatus,
    FileHeader,
    Pagination,
    ReadResult,
    RejectedEntry,
    StructuralError,
)

NAMESPACE: Final = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(05[34])\.001\.(\d{2})")
SUPPORTED_VERSIONS: Final = ("02", "03", "04", "05", "06", "07", "08")
ACCEPTED_CURRENCY: Final = "EUR"

_MESSAGE_ELEMENT = {"054": "BkToCstmrDbtCdtNtfctn", "053": "BkToCstmrStmt"}
_REPORT_ELEMENT = {"054": "Ntfctn", "053": "Stmt"}
_STATUSES: dict[str, EntryStatus] = {"BOOK": "booked", "PDNG": "pending", "INFO": "info"}
_DIRECTIONS: dict[str, Direction] = {"CRDT": "credit", "DBIT": "debit"}
_BALANCE_KINDS = {"OPBD": "opening", "CLBD": "closing"}
_NOT_PROVIDED = "NOTPROVIDED"

# Every path read below, so that each element is walked once and unread branches are skipped.
_ACCOUNT_PATHS = Paths(["Id/IBAN", "Id/Othr/Id"])
_HEADER_PATHS = Paths(["MsgId", "CreDtTm", "MsgPgntn", "MsgPgntn/PgNb", "MsgPgntn/LastPgInd"])
_BALANCE_PATHS = Paths(["Tp/CdOrPrtry/Cd", "Amt", "CdtDbtInd", "Dt/Dt", "Dt/DtTm"])


def _code_slots(paths: Paths) -> tuple[int, int, int, int]:
    """The bank transaction code: ISO domain, family and sub-family, else a proprietary code."""
    return (
        paths.add("BkTxCd/Domn/Cd"),
        paths.add("BkTxCd/Domn/Fmly/Cd"),
        paths.add("BkTxCd/Domn/Fmly/SubFmlyCd"),
        paths.add("BkTxCd/Prtry/Cd"),
    )


# What an entry (Ntry) says, by slot.
_ENTRY = Paths()
_AMOUNT = _ENTRY.add("Amt")
_INDICATOR = _ENTRY.add("CdtDbtInd")
_REVERSAL = _ENTRY.add("RvslInd")
_STATUS = _ENTRY.add("Sts")  # holds the code itself up to version 07 …
_STATUS_CODE = _ENTRY.add("Sts/Cd")  # … and wraps it from version 08
_BANK_REFERENCE = _ENTRY.add("AcctSvcrRef")
_ENTRY_REFERENCE = _ENTRY.add("NtryRef")
_BOOKING_DAY = _ENTRY.add("BookgDt/Dt")
_BOOKING_MOMENT = _ENTRY.add("BookgDt/DtTm")
_VALUE_DAY = _ENTRY.add("ValDt/Dt")
_VALUE_MOMENT = _ENTRY.add("ValDt/DtTm")
_ENTRY_TEXT = _ENTRY.add("AddtlNtryInf")
_TRANSACTIONS = _ENTRY.add("NtryDtls/TxDtls")
_ENTRY_CODE = _code_slots(_ENTRY)

# What a transaction (TxDtls) says, by slot.
_TX = Paths()
_TX_AMOUNT = _TX.add("Amt")  # from version 03 …
_TX_AMOUNT_DETAILS = _TX.add("AmtDtls/TxAmt/Amt")  # … version 02 only has the amount details
_TX_INDICATOR = _TX.add("CdtDbtInd")
_TX_TEXT = _TX.add("AddtlTxInf")
_TX_BANK_REFERENCE = _TX.add("Refs/AcctSvcrRef")
_END_TO_END_ID = _TX.add("Refs/EndToEndId")
_MANDATE_ID = _TX.add("Refs/MndtId")
# The debtor became a Party40Choice (Dbtr/Pty) in version 08.
_PAYER_NAME = _TX.add("RltdPties/Dbtr/Pty/Nm")
_PAYER_NAME_BEFORE_08 = _TX.add("RltdPties/Dbtr/Nm")
_PAYER_IBAN = _TX.add("RltdPties/DbtrAcct/Id/IBAN")
_REMITTANCE = _TX.add("RmtInf/Ustrd")
_CREDITOR_REFERENCE = _TX.add("RmtInf/Strd/CdtrRefInf/Ref")
_RETURN_CODE = _TX.add("RtrInf/Rsn/Cd")
_RETURN_PROPRIETARY = _TX.add("RtrInf/Rsn/Prtry")
_TX_CODE = _code_slots(_TX)


@dataclass(frozen=True, slots=True)
class Message:
    """What the root element says about the message."""

    kind: str  # "054" or "053"
    version: str  # "001.08"
    namespace: str

    @property
    def format(self) -> str:
        return f"camt.{self.kind}"

    @property
    def report_element(self) -> str:
        return _REPORT_ELEMENT[self.kind]

    def tag(self, name: str) -> str:
        return f"{{{self.namespace}}}{name}"

    def index(self, element: Element, paths: Paths) -> ElementIndex:
        return ElementIndex(element, self.namespace, paths)


def read(
    data: bytes, *, expected: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> ReadResult:
    """Read a camt.054 or camt.053 file; `expected` ("camt.054" …) refuses the other kind."""
    check_xml(data, max_bytes=max_bytes)
    message = identify(data)
    if expected is not None and message.format != expected:
        raise StructuralError(f"The file is a {message.format} message, not a {expected} one.")
    header = _scan(data, message)
    return ReadResult(header=header, entries=_entries(data, message))


def read_entries(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[BankEntry | RejectedEntry]:
    """The records `read(data).entries` hands out, without the structural pass (see
    `detect.read_entries`): a document that pass would refuse may end them early with a
    `StructuralError` or an `etree` error."""
    check_xml(data, max_bytes=max_bytes)
    return _entries(data, identify(data))


def identify(data: bytes) -> Message:
    """Read only the root element and tell which camt message and version the file holds."""
    events = safe_iterparse(BytesIO(data), events=("start",))
    try:
        _, root = next(events)
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    except StopIteration:
        raise StructuralError("The XML document has no root element.") from None
    namespace = etree.QName(root).namespace or ""
    match = NAMESPACE.fullmatch(namespace)
    if match is None or etree.QName(root).localname != "Document":
        raise StructuralError(
            f"The XML namespace '{namespace}' is not a camt.053 or camt.054 message."
        )
    kind, number = match[1], match[2]
    if number not in SUPPORTED_VERSIONS:
        raise StructuralError(
            f"camt.{kind} version 001.{number} is not supported "
            f"(supported: 001.{SUPPORTED_VERSIONS[0]} to 001.{SUPPORTED_VERSIONS[-1]})."
        )
    return Message(kind=kind, version=f"001.{number}", namespace=namespace)


# --- the stream shared by both passes ------------------------------------------------------------


@dataclass(slots=True)
class _AccountSeen:
    account: str | None
    iban: str | None


# What `_walk` hands out: (one of these, the element, the report it is in, the entry's number in
# that report). A tuple, not an object per event: the entries pass gets 100,000 of them.
_HEADER, _ACCOUNT, _BALANCE, _ENTRY_ELEMENT = range(4)
_Seen = tuple[int, Element, int, int]


def _walk(
    data: bytes, message: Message, *, entries: bool, pieces: Pieces | None = None
) -> Iterator[_Seen]:
    """Stream the document, handing out the parts a pass needs and discarding them afterwards:
    the group header, the accounts and the balances for the structural pass; the accounts and the
    entries (`entries=True`) for the entries pass. An entry counts when its parent is a report; a
    report ends a numbering when its parent is the message element.

    With `pieces` (the entries pass), the skeleton is streamed and each piece of entries parsed
    whole where its placeholder stands (see `xml_pieces`): its entries have bare tags. Anything
    that does not parse as cut raises `CannotCut`, before the entry it would have handed out.

    A handed-out element is valid only until the generator resumes. Only "end" events are asked
    for: a "start" event per entry doubled the per-entry cost of the stream, and what the start
    events told (which report an entry is in) follows from the reports that have ended before it.
    """
    report_tag = message.tag(message.report_element)
    message_tag = message.tag(_MESSAGE_ELEMENT[message.kind])
    header_tag, account_tag = message.tag("GrpHdr"), message.tag("Acct")
    balance_tag, entry_tag = message.tag("Bal"), message.tag("Ntry")
    wanted = [message_tag, report_tag, account_tag, entry_tag]
    if not entries:
        wanted += [header_tag, balance_tag]
    piece_tag = None if pieces is None else pieces.tag
    if piece_tag is not None:
        wanted.append(piece_tag)
    seen_message = False
    report = 1  # the report being read: one more than the reports that have ended
    entry = 0
    source = data if pieces is None else pieces.skeleton
    try:
        for _, element in safe_iterparse(BytesIO(source), events=("end",), tags=wanted):
            tag = element.tag
            parent = element.getparent()
            parent_tag = None if parent is None else parent.tag
            if tag == piece_tag and pieces is not None:
                if parent_tag == report_tag:  # its elements are the report's children
                    number = int(element.get("n"))
                    in_scope = parent.nsmap
                    for child in pieces.parse(number, in_scope, message.namespace):
                        if child.tag == "Ntry":
                            entry += 1
                            yield _ENTRY_ELEMENT, child, report, entry
                        elif child.tag == "Acct":  # an account between entries: rare
                            raise CannotCut(f"piece {number} holds an account")
            elif tag == entry_tag:
                if parent_tag == report_tag:
                    if pieces is not None:  # one the cut missed (`<Ntry >`): read as streamed
                        raise CannotCut("an entry outside the pieces")
                    entry += 1
                    if entries:
                        yield _ENTRY_ELEMENT, element, report, entry
                    _discard_entry(element, parent, entry)
            elif tag == report_tag:
                if parent_tag == message_tag:
                    report += 1
                    entry = 0
                    _discard(element)
            elif tag == account_tag:
                if parent_tag == report_tag:
                    yield _ACCOUNT, element, report, entry
            elif tag == header_tag:
                if parent_tag == message_tag:
                    yield _HEADER, element, report, entry
                    element.clear()
            elif tag == balance_tag:
                if parent_tag == report_tag:
                    yield _BALANCE, element, report, entry
            elif tag == message_tag and _is_root_child(element):
                seen_message = True
    except etree.XMLSyntaxError as exc:
        if pieces is not None:
            raise CannotCut("the skeleton does not parse") from None
        raise _syntax_error(exc) from None
    if not seen_message:
        if pieces is not None:
            raise CannotCut("the skeleton has no message")
        raise _no_message(message)


def _is_root_child(element: Element) -> bool:
    parent = element.getparent()
    return parent is not None and parent.getparent() is None


def _no_message(message: Message) -> StructuralError:
    return StructuralError(
        f"The {message.format} document has no <{_MESSAGE_ELEMENT[message.kind]}> element "
        "under <Document>."
    )


def _discard(element: Element) -> None:
    """Free an element that has been read, and every sibling before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    while element.getprevious() is not None:
        del parent[0]


_DISCARD_BATCH: Final = 64


def _discard_entry(element: Element, report: Element, index: int) -> None:
    """Free the `index`-th entry of `report`, which has been read.

    Its content goes at once; the emptied entries (and whatever came before them in the report) are
    removed from the report in batches of `_DISCARD_BATCH`, each in one call, which costs less than
    removing them one at a time as `_discard` does. The report ending frees what is left.
    """
    element.clear(keep_tail=False)
    if index % _DISCARD_BATCH == 0:
        del report[: report.index(element)]


def _syntax_error(exc: etree.XMLSyntaxError) -> StructuralError:
    line = exc.position[0] if exc.position else "?"
    return StructuralError(f"The XML document is not well-formed at line {line}: {exc.msg}")


def _account(element: Element, message: Message) -> _AccountSeen:
    node = message.index(element, _ACCOUNT_PATHS)
    iban = node.text("Id/IBAN")
    if iban is not None:
        iban = normalize_iban(iban)
        return _AccountSeen(account=iban, iban=iban)
    return _AccountSeen(account=node.text("Id/Othr/Id"), iban=None)


# --- structural pass -----------------------------------------------------------------------------


def _scan(data: bytes, message: Message) -> FileHeader:
    _check_well_formed(data)
    # Only the balances need a walk of the whole tree; a file without any is done once its group
    # header (the message's first element) is read, which makes this pass several times cheaper.
    whole = _may_contain(data, "Bal")
    group_header: FileHeader | None = None
    balances: list[Balance] = []
    account: str | None = None
    for seen, element, report, _ in _walk(data, message, entries=False):
        if seen == _HEADER:
            group_header = _header(element, message)
            if not whole and _is_root_child(element.getparent()):  # in the message, as it must be
                return group_header
        elif seen == _ACCOUNT:
            account = _account(element, message).account
        elif seen == _BALANCE:
            balance = _balance(element, message, account, report)
            if balance is not None:
                balances.append(balance)
    if group_header is None:
        raise StructuralError(f"The {message.format} message has no GrpHdr.")
    return replace(group_header, balances=tuple(balances))


class _NoTree:
    """A parser target without element callbacks: libxml2 checks the document and builds nothing."""

    def close(self) -> None:
        return None


def _check_well_formed(data: bytes) -> None:
    """Parse the whole document without building a tree or calling back into Python (about four
    times cheaper than streaming it), so that a broken file is refused before any entry is read."""
    try:
        etree.fromstring(data, safe_parser(target=_NoTree()))
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None


def _may_contain(data: bytes, name: str) -> bool:
    """Whether an element called ``name`` may occur: its name's bytes, in the document's encoding,
    appear somewhere (an element name cannot be escaped, so a miss is certain)."""
    codec, _ = sniff_encoding(data)
    return name.encode(codec) in data


def _header(element: Element, message: Message) -> FileHeader:
    node = message.index(element, _HEADER_PATHS)
    message_id = node.text("MsgId")
    if message_id is None:
        raise StructuralError(f"The {message.format} message has no GrpHdr/MsgId.")
    created = node.text("CreDtTm")
    try:
        created_at = None if created is None else parse_iso_datetime(created)
    except ValueError:
        raise StructuralError(f"GrpHdr/CreDtTm '{created}' is not a valid date and time.") from None
    return FileHeader(
        format=message.format,
        version=message.version,
        message_id=message_id,
        created_at=created_at,
        pagination=_pagination(node),
    )


def _pagination(node: ElementIndex) -> Pagination | None:
    if not node.has("MsgPgntn"):
        return None
    number = node.text("MsgPgntn/PgNb") or ""
    last = (node.text("MsgPgntn/LastPgInd") or "").lower()
    if not number.isdigit() or last not in ("true", "false", "1", "0"):
        raise StructuralError(
            f"GrpHdr/MsgPgntn is not valid (page number '{number}', last page indicator '{last}')."
        )
    return Pagination(page_number=int(number), last_page=last in ("true", "1"))


def _balance(
    element: Element, message: Message, account: str | None, report: int
) -> Balance | None:
    node = message.index(element, _BALANCE_PATHS)
    code = node.text("Tp/CdOrPrtry/Cd")
    kind = _BALANCE_KINDS.get(code or "")
    if kind is None:
        return None  # interim and available balances are not control totals
    where = f"{message.report_element} {report}, balance {code}"
    amount = node.first("Amt")
    try:
        cents = decimal_to_cents((amount.text or "").strip() if amount is not None else "")
    except AmountError:
        raise StructuralError(f"{where}: the amount is missing or not valid.") from None
    sign = node.text("CdtDbtInd")
    if sign not in _DIRECTIONS:
        raise StructuralError(f"{where}: CdtDbtInd '{sign}' is neither CRDT nor DBIT.")
    try:
        when = _date_choice(node.text("Dt/Dt"), node.text("Dt/DtTm"), "balance date")
    except _Rejection as rejection:
        raise StructuralError(f"{where}: {rejection.reason}") from None
    return Balance(
        account=account,
        kind="opening" if kind == "opening" else "closing",
        amount_cents=-cents if sign == "DBIT" else cents,
        currency=amount.get("Ccy", "") if amount is not None else "",
        date=when,
    )


# --- entries pass ---------------------------------------------------------------------------------
#
# The code below runs once per entry of files of 100,000 entries and more, where every microsecond
# per entry is a tenth of a second of the import: it is written for speed where that was measured to
# pay. Records are built with positional arguments (a frozen dataclass with twenty fields takes a
# third longer to build from keywords), texts are first compared as written and only collapsed when
# that fails (`_direction`, `_status`, `_date`), and the per-file look-ups are made once per file.


class _Rejection(Exception):
    """An entry-level problem; becomes a `RejectedEntry`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _EntryFacts:
    """What an `Ntry` says for all of its transactions (built positionally, in this order)."""

    direction: Direction
    amount_cents: int
    amount_currency: str | None  # the currency and the amount as written, for the transactions
    amount_text: str | None  # that merely repeat them
    status: EntryStatus
    booking_date: date | None
    value_date: date | None
    reversal: bool
    bank_reference: str | None
    entry_reference: str | None
    bank_transaction_code: str | None
    entry_text: str | None


@dataclass(slots=True)
class _TransactionDetails:
    """What a `TxDtls` says, or what an entry without details says of its only transaction (built
    positionally, in this order)."""

    direction: Direction
    amount_cents: int
    bank_reference: str | None = None
    end_to_end_id: str | None = None
    mandate_id: str | None = None
    payer_name: str | None = None
    payer_iban: str | None = None
    remittance: tuple[str, ...] = ()
    structured_reference: str | None = None
    return_reason: str | None = None
    bank_transaction_code: str | None = None
    text: str | None = None


_ENTRY_SLOTS: Final = _ENTRY.size
_TX_SLOTS: Final = _TX.size
# `BankEntry(...)` runs the named tuple's `__new__`, a function in Python; `tuple.__new__` builds the
# same record from all of its fields in C, in less than half the time.
_new_record: Final = tuple.__new__
if len(BankEntry._fields) != 20:  # pragma: no cover - a field was added: `_bank_entry` must give it
    raise RuntimeError("_bank_entry builds a BankEntry from all of its fields")


def _entries(
    data: bytes, message: Message, *, cut: bool = True
) -> Iterator[BankEntry | RejectedEntry]:
    """The records of the entries, one entry at a time: read in pieces where the document can
    be cut (`xml_pieces`), else streamed; streamed from where the pieces stopped if one of them
    turns out not to parse as cut."""
    ids = UniqueIds()
    report_element = message.report_element
    pieces = Pieces.cut(data, "Ntry", report_element) if cut else None
    handed = 0  # entries whose records were handed out from the pieces
    if pieces is not None:
        account: _AccountSeen = _AccountSeen(None, None)
        entry_tree, transaction_tree = _ENTRY.tree(""), _TX.tree("")  # bare tags
        try:
            for seen, element, report, entry in _walk(data, message, entries=True, pieces=pieces):
                if seen == _ENTRY_ELEMENT:
                    position = f"{report_element} {report}, Ntry {entry}"
                    yield from _entry_records(
                        element, entry_tree, transaction_tree, position, account, ids
                    )
                    handed += 1
                else:
                    account = _account(element, message)
            return
        except CannotCut:
            pass  # the same entries, in the same order, streamed: those handed out are skipped
    account = _AccountSeen(None, None)
    entry_tree = _ENTRY.tree(message.namespace)
    transaction_tree = _TX.tree(message.namespace)
    for seen, element, report, entry in _walk(data, message, entries=True):
        if seen == _ENTRY_ELEMENT:
            if handed:
                handed -= 1
                continue
            position = f"{report_element} {report}, Ntry {entry}"
            yield from _entry_records(element, entry_tree, transaction_tree, position, account, ids)
        else:
            account = _account(element, message)


def _entry_records(
    element: Element,
    entry_tree: PathTree,
    transaction_tree: PathTree,
    position: str,
    account: _AccountSeen,
    ids: UniqueIds,
) -> list[BankEntry | RejectedEntry]:
    """One record per transaction of the entry, or one for an entry without details."""
    entry: list[Element | None] = [None] * _ENTRY_SLOTS
    entry_later: list[tuple[int, Element]] = []
    collect_into(element, entry_tree, entry, entry_later)
    try:
        facts = _entry_facts(entry)
    except _Rejection as rejection:
        return [RejectedEntry(position, rejection.reason)]
    first = entry[_TRANSACTIONS]
    if first is None:
        details = _TransactionDetails(facts.direction, facts.amount_cents)
        return [_bank_entry(facts, details, 1, position, account, ids)]
    # `Found.all` written out: usually there is one transaction and nothing else found twice.
    transactions = [first]
    if entry_later:
        transactions += [found for slot, found in entry_later if slot == _TRANSACTIONS]
    batch_size = len(transactions)
    records: list[BankEntry | RejectedEntry] = []
    for index, transaction in enumerate(transactions, start=1):
        where = f"{position}, TxDtls {index}"
        found: list[Element | None] = [None] * _TX_SLOTS
        later: list[tuple[int, Element]] = []
        collect_into(transaction, transaction_tree, found, later)
        try:
            details = _transaction(found, later, facts, batch_size)
        except _Rejection as rejection:
            records.append(RejectedEntry(where, rejection.reason))
        else:
            records.append(_bank_entry(facts, details, index, where, account, ids))
    return records


def _entry_facts(entry: list[Element | None]) -> _EntryFacts:
    amount_element = entry[_AMOUNT]
    if amount_element is None:
        raise _Rejection("The entry has no amount.")
    # The checks that reject an entry, in the order of their precedence: the amount's problem is
    # the one reported, then the indicator's, the status', the booking date's, the value date's.
    currency, written = amount_element.get("Ccy"), amount_element.text
    amount = _amount(currency, written, "entry")
    direction = _direction(entry[_INDICATOR])
    status = _status(entry)
    booking_date = _date(entry[_BOOKING_DAY], entry[_BOOKING_MOMENT], "booking date")
    value_date = _date(entry[_VALUE_DAY], entry[_VALUE_MOMENT], "value date")
    reversal = entry[_REVERSAL]
    return _EntryFacts(
        direction,
        amount,
        currency,
        written,
        status,
        booking_date,
        value_date,
        reversal is not None and (text(reversal) or "").lower() in ("true", "1"),
        _reference(entry[_BANK_REFERENCE]),
        _reference(entry[_ENTRY_REFERENCE]),
        _transaction_code(entry, _ENTRY_CODE),
        text(entry[_ENTRY_TEXT]),
    )


def _transaction(
    transaction: list[Element | None],
    later: list[tuple[int, Element]],
    facts: _EntryFacts,
    batch_size: int,
) -> _TransactionDetails:
    """What one of the `batch_size` transactions of an entry says, the entry filling the gaps."""
    # TxDtls/Amt exists from version 03; version 02 only has the amount details.
    amount_element = transaction[_TX_AMOUNT]
    if amount_element is None:
        amount_element = transaction[_TX_AMOUNT_DETAILS]
    if amount_element is None:
        amount = None
    else:
        currency, written = amount_element.get("Ccy"), amount_element.text
        if written == facts.amount_text and currency == facts.amount_currency:
            amount = facts.amount_cents  # usually: the entry's amount, already checked
        else:
            amount = _amount(currency, written, "transaction")
    if amount is None:
        if batch_size > 1:
            raise _Rejection(
                "The transaction has no amount of its own in an entry that batches "
                f"{batch_size} transactions."
            )
        amount = facts.amount_cents
    direction = _direction(transaction[_TX_INDICATOR], inherited=facts.direction)
    # Most transactions have no IBAN, creditor reference, return reason or text of their own: the
    # helpers are only called for the elements that are there (a call per absent one was a
    # measurable part of the pass).
    payer_iban = structured_reference = return_reason = own_text = None
    if (element := transaction[_PAYER_IBAN]) is not None:
        payer_iban = text(element)
        if payer_iban is not None:
            payer_iban = normalize_iban(payer_iban)
    if (element := transaction[_CREDITOR_REFERENCE]) is not None:
        structured_reference = text(element)
    code, proprietary = transaction[_RETURN_CODE], transaction[_RETURN_PROPRIETARY]
    if code is not None or proprietary is not None:
        return_reason = text(code) or text(proprietary)
    if (element := transaction[_TX_TEXT]) is not None:
        own_text = text(element)
    line = transaction[_REMITTANCE]
    if line is None:
        remittance: tuple[str, ...] = ()
    elif later:  # `Found.all`: the other lines, if any, were set aside in document order
        lines = [line, *(found for slot, found in later if slot == _REMITTANCE)]
        remittance = tuple(filter(None, [text(line) for line in lines]))
    else:
        only = text(line)
        remittance = () if only is None else (only,)
    return _TransactionDetails(
        direction,
        amount,
        _reference(transaction[_TX_BANK_REFERENCE]),
        _reference(transaction[_END_TO_END_ID]),
        _reference(transaction[_MANDATE_ID]),
        text(transaction[_PAYER_NAME]) or text(transaction[_PAYER_NAME_BEFORE_08]),
        payer_iban,
        remittance,
        structured_reference,
        return_reason,
        _transaction_code(transaction, _TX_CODE),
        own_text,
    )


def _bank_entry(
    facts: _EntryFacts,
    details: _TransactionDetails,
    index: int,
    position: str,
    account: _AccountSeen,
    ids: UniqueIds,
) -> BankEntry:
    scope = account.account or ""
    if facts.bank_reference is not None:
        key = f"{scope}|ntry|{facts.bank_reference}|{index}"
    elif details.bank_reference is not None:
        key = f"{scope}|tx|{details.bank_reference}"
    else:
        digest = fingerprint(
            facts.entry_reference,
            facts.booking_date,
            facts.value_date,
            details.direction,
            details.amount_cents,
            details.end_to_end_id,
            details.mandate_id,
            details.payer_name,
            details.payer_iban,
            details.remittance,
            details.structured_reference,
        )
        key = f"{scope}|content|{digest}"
    return _new_record(  # every field, in the order of BankEntry's
        BankEntry,
        (
            position,
            ids.make(key),  # entry_id
            details.direction,
            details.amount_cents,
            ACCEPTED_CURRENCY,
            facts.booking_date,
            facts.value_date,
            facts.status,
            facts.reversal,
            details.payer_name,
            details.payer_iban,
            details.remittance,
            details.structured_reference,
            details.end_to_end_id,
            details.mandate_id,
            details.return_reason,
            details.bank_transaction_code or facts.bank_transaction_code,
            account.iban,  # account_iban
            facts.entry_text or details.text,  # entry_text
            None,  # tenant_code: a bank file does not say
        ),
    )


def _amount(currency: str | None, written: str | None, what: str) -> int:
    """The amount in cents from the `Ccy` attribute and the text of an `Amt` element."""
    if currency != ACCEPTED_CURRENCY:  # else written exactly so, as banks do: nothing to strip
        currency = (currency or "").strip()
        if not currency:
            raise _Rejection(f"The {what} amount has no currency.")
        if currency != ACCEPTED_CURRENCY:
            raise _Rejection(
                f"The {what} currency is '{currency}'; only {ACCEPTED_CURRENCY} amounts are "
                "accepted."
            )
    try:
        cents = decimal_to_cents((written or "").strip())
    except AmountError as exc:
        raise _Rejection(f"The {what} amount is not valid: {exc}.") from None
    if cents == 0:
        raise _Rejection(f"The {what} amount is zero.")
    return cents


def _direction(element: Element | None, inherited: Direction | None = None) -> Direction:
    """The credit/debit indicator; when it is absent or blank, `inherited` (a transaction takes its
    entry's) or else a rejection."""
    if element is not None:
        direction = _DIRECTIONS.get(element.text)
        if direction is not None:
            return direction  # written exactly as the code: nothing to collapse
    indicator = text(element)
    if indicator is None and inherited is not None:
        return inherited
    direction = _DIRECTIONS.get(indicator or "")
    if direction is None:
        raise _Rejection(f"The credit/debit indicator '{indicator or ''}' is not CRDT or DBIT.")
    return direction


def _status(entry: list[Element | None]) -> EntryStatus:
    code_element = entry[_STATUS_CODE]
    if code_element is not None:
        status = _STATUSES.get(code_element.text)
        if status is not None:
            return status  # written exactly as the code: nothing to collapse
    code = text(code_element)
    if code is None:
        status_element = entry[_STATUS]
        if status_element is not None and len(status_element) == 0:
            code = (status_element.text or "").strip() or None
    if code is None:
        raise _Rejection("The entry has no status code (BOOK, PDNG or INFO).")
    status = _STATUSES.get(code)
    if status is None:
        raise _Rejection(f"The entry status '{code}' is not BOOK, PDNG or INFO.")
    return status


# The days already read, by their text: a file books its entries on a few dozen days. Bounded, so
# that a file of ever different dates cannot make it grow without end.
_KNOWN_DAYS: dict[str, date] = {}
_KNOWN_DAYS_MAX: Final = 4096


def _day(value: str) -> date:
    known = _KNOWN_DAYS.get(value)
    if known is None:
        known = parse_iso_date(value)
        if len(_KNOWN_DAYS) < _KNOWN_DAYS_MAX:
            _KNOWN_DAYS[value] = known
    return known


def _date(day: Element | None, moment: Element | None, what: str) -> date | None:
    """The date of `…/Dt` (`day`), else of `…/DtTm` (`moment`)."""
    if day is not None:
        # A day already read, written as it was then (so without white space to collapse).
        known = _KNOWN_DAYS.get(day.text)
        if known is not None:
            return known
    return _date_choice(text(day), text(moment), what)


def _date_choice(day: str | None, moment: str | None, what: str) -> date | None:
    """The texts of `…/Dt` and `…/DtTm`; a date and time keeps the date the bank wrote."""
    try:
        if day is not None:
            return _day(day)
        if moment is not None:
            parse_iso_datetime(moment)
            return parse_iso_date(moment[:10])
    except ValueError:
        raise _Rejection(f"The {what} '{day or moment}' is not a valid date.") from None
    return None


def _transaction_code(found: list[Element | None], slots: tuple[int, int, int, int]) -> str | None:
    domain_slot, family_slot, sub_family_slot, proprietary_slot = slots
    domain, proprietary = found[domain_slot], found[proprietary_slot]
    if domain is None and proprietary is None:
        return None  # the usual case for a transaction: its entry's code applies
    family, sub_family = found[family_slot], found[sub_family_slot]
    return _code(
        None if domain is None else domain.text,
        None if family is None else family.text,
        None if sub_family is None else sub_family.text,
        None if proprietary is None else proprietary.text,
    )


@functools.lru_cache(maxsize=256)
def _code(
    domain: str | None, family: str | None, sub_family: str | None, proprietary: str | None
) -> str | None:
    """The bank transaction code from its texts as written: domain/family/sub-family, else the
    proprietary code. Banks use a few dozen codes, so each is worked out once."""
    iso = [collapse(domain), collapse(family), collapse(sub_family)]
    if iso[0] is not None:
        return "/".join(part for part in iso if part)
    return collapse(proprietary)


def _reference(element: Element | None) -> str | None:
    if element is None:
        return None
    value = text(element)
    # Upper-casing never shortens a text, so a longer one cannot be "NOTPROVIDED" in any case.
    if value is None or (len(value) <= len(_NOT_PROVIDED) and value.upper() == _NOT_PROVIDED):
        return None
    return value
