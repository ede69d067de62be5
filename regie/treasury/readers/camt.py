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
from regie.treasury.readers.xml_index import Element, ElementIndex, Paths
from regie.treasury.readers.xml_safety import (
    DEFAULT_MAX_BYTES,
    check_xml,
    safe_iterparse,
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
_TRANSACTIONS = "NtryDtls/TxDtls"

# Every path read below, so that each element is walked once and unread branches are skipped.
_CODE = ("BkTxCd/Domn/Cd", "BkTxCd/Domn/Fmly/Cd", "BkTxCd/Domn/Fmly/SubFmlyCd", "BkTxCd/Prtry/Cd")
_ACCOUNT_PATHS = Paths(["Id/IBAN", "Id/Othr/Id"])
_HEADER_PATHS = Paths(["MsgId", "CreDtTm", "MsgPgntn", "MsgPgntn/PgNb", "MsgPgntn/LastPgInd"])
_BALANCE_PATHS = Paths(["Tp/CdOrPrtry/Cd", "Amt", "CdtDbtInd", "Dt/Dt", "Dt/DtTm"])
_ENTRY_PATHS = Paths(
    [
        *("Amt", "CdtDbtInd", "RvslInd", "Sts", "Sts/Cd", "AcctSvcrRef", "NtryRef"),
        *("BookgDt/Dt", "BookgDt/DtTm", "ValDt/Dt", "ValDt/DtTm", "AddtlNtryInf", _TRANSACTIONS),
        *_CODE,
    ]
)
_TRANSACTION_PATHS = Paths(
    [
        *("Amt", "AmtDtls/TxAmt/Amt", "CdtDbtInd", "AddtlTxInf"),
        *("Refs/AcctSvcrRef", "Refs/EndToEndId", "Refs/MndtId"),
        *("RltdPties/Dbtr/Pty/Nm", "RltdPties/Dbtr/Nm", "RltdPties/DbtrAcct/Id/IBAN"),
        *("RmtInf/Ustrd", "RmtInf/Strd/CdtrRefInf/Ref", "RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry"),
        *_CODE,
    ]
)


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


# --- the walk shared by both passes --------------------------------------------------------------


@dataclass(slots=True)
class _GroupHeader:
    element: Element
    in_message: bool  # its message element is the document's child, as it must be


@dataclass(slots=True)
class _AccountSeen:
    account: str | None
    iban: str | None


@dataclass(slots=True)
class _BalanceSeen:
    element: Element
    report: int


@dataclass(slots=True)
class _EntrySeen:
    element: Element
    report: int
    index: int


_Event = _GroupHeader | _AccountSeen | _BalanceSeen | _EntrySeen


def _walk(data: bytes, message: Message) -> Iterator[_Event]:
    """Stream the document, yielding the parts the readers need and discarding them afterwards.

    A yielded element is valid only until the generator resumes. Only "end" events are asked for:
    a "start" event per entry doubled the per-entry cost of the stream, and what the start events
    told (which report an entry is in) follows from the reports that have ended before it.
    """
    report_tag = message.tag(message.report_element)
    message_tag = message.tag(_MESSAGE_ELEMENT[message.kind])
    header_tag, account_tag = message.tag("GrpHdr"), message.tag("Acct")
    balance_tag, entry_tag = message.tag("Bal"), message.tag("Ntry")
    wanted = [message_tag, header_tag, report_tag, account_tag, balance_tag, entry_tag]
    seen_message = False
    report = 1  # the report being read: one more than the reports that have ended
    entry = 0
    try:
        for _, element in safe_iterparse(BytesIO(data), events=("end",), tags=wanted):
            tag = element.tag
            parent = element.getparent()
            parent_tag = None if parent is None else parent.tag
            if tag == entry_tag:
                if parent_tag == report_tag:
                    entry += 1
                    yield _EntrySeen(element, report, entry)
                    _discard(element)
            elif tag == report_tag:
                if parent_tag == message_tag:
                    report += 1
                    entry = 0
                    _discard(element)
            elif tag == header_tag:
                if parent_tag == message_tag:
                    yield _GroupHeader(element, _is_root_child(parent))
                    element.clear()
            elif tag == account_tag:
                if parent_tag == report_tag:
                    yield _account(element, message)
            elif tag == balance_tag:
                if parent_tag == report_tag:
                    yield _BalanceSeen(element, report)
            elif tag == message_tag and _is_root_child(element):
                seen_message = True
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from None
    if not seen_message:
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
    for event in _walk(data, message):
        if isinstance(event, _GroupHeader):
            group_header = _header(event.element, message)
            if not whole and event.in_message:
                return group_header
        elif isinstance(event, _AccountSeen):
            account = event.account
        elif isinstance(event, _BalanceSeen):
            balance = _balance(event.element, message, account, event.report)
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
    parser = etree.XMLParser(
        target=_NoTree(),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        etree.fromstring(data, parser)
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
        when = _date_choice(node, "Dt", "balance date")
    except _Rejection as rejection:
        raise StructuralError(f"{where}: {rejection.reason}") from None
    return Balance(
        account=account,
        kind="opening" if kind == "opening" else "closing",
        amount_cents=-cents if sign == "DBIT" else cents,
        currency=amount.get("Ccy", "") if amount is not None else "",
        date=when,
    )


# --- entries pass --------------------------------------------------------------------------------


class _Rejection(Exception):
    """An entry-level problem; becomes a `RejectedEntry`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _EntryFacts:
    """What an `Ntry` says for all of its transactions."""

    direction: Direction
    amount_cents: int
    status: EntryStatus
    booking_date: date | None
    value_date: date | None
    reversal: bool
    bank_reference: str | None
    entry_reference: str | None
    bank_transaction_code: str | None
    entry_text: str | None


def _entries(data: bytes, message: Message) -> Iterator[BankEntry | RejectedEntry]:
    ids = UniqueIds()
    account: _AccountSeen = _AccountSeen(None, None)
    for event in _walk(data, message):
        if isinstance(event, _AccountSeen):
            account = event
        elif isinstance(event, _EntrySeen):
            position = f"{message.report_element} {event.report}, Ntry {event.index}"
            entry = message.index(event.element, _ENTRY_PATHS)
            yield from _entry_records(entry, message, position, account, ids)


def _entry_records(
    entry: ElementIndex,
    message: Message,
    position: str,
    account: _AccountSeen,
    ids: UniqueIds,
) -> Iterator[BankEntry | RejectedEntry]:
    try:
        facts = _entry_facts(entry)
    except _Rejection as rejection:
        yield RejectedEntry(position=position, reason=rejection.reason)
        return
    transactions = [message.index(tx, _TRANSACTION_PATHS) for tx in entry.all(_TRANSACTIONS)]
    if not transactions:
        yield _bank_entry(None, 1, facts, facts.amount_cents, position, account, ids)
        return
    for index, transaction in enumerate(transactions, start=1):
        where = f"{position}, TxDtls {index}"
        try:
            amount = _transaction_amount(transaction)
            if amount is None:
                if len(transactions) > 1:
                    raise _Rejection(
                        "The transaction has no amount of its own in an entry that batches "
                        f"{len(transactions)} transactions."
                    )
                amount = facts.amount_cents
            yield _bank_entry(transaction, index, facts, amount, where, account, ids)
        except _Rejection as rejection:
            yield RejectedEntry(position=where, reason=rejection.reason)


def _entry_facts(entry: ElementIndex) -> _EntryFacts:
    amount = _amount(entry.first("Amt"), "entry")
    if amount is None:
        raise _Rejection("The entry has no amount.")
    return _EntryFacts(
        direction=_direction(entry.text("CdtDbtInd")),
        amount_cents=amount,
        status=_status(entry),
        booking_date=_date_choice(entry, "BookgDt", "booking date"),
        value_date=_date_choice(entry, "ValDt", "value date"),
        reversal=(entry.text("RvslInd") or "").lower() in ("true", "1"),
        bank_reference=_reference(entry, "AcctSvcrRef"),
        entry_reference=_reference(entry, "NtryRef"),
        bank_transaction_code=_transaction_code(entry),
        entry_text=entry.text("AddtlNtryInf"),
    )


def _bank_entry(
    transaction: ElementIndex | None,
    index: int,
    facts: _EntryFacts,
    amount_cents: int,
    position: str,
    account: _AccountSeen,
    ids: UniqueIds,
) -> BankEntry:
    details = _TransactionDetails.read(transaction)
    direction = facts.direction
    if transaction is not None:
        indicator = transaction.text("CdtDbtInd")
        if indicator is not None:
            direction = _direction(indicator)
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
            direction,
            amount_cents,
            details.end_to_end_id,
            details.mandate_id,
            details.payer_name,
            details.payer_iban,
            details.remittance,
            details.structured_reference,
        )
        key = f"{scope}|content|{digest}"
    return BankEntry(
        position=position,
        entry_id=ids.make(key),
        direction=direction,
        amount_cents=amount_cents,
        currency=ACCEPTED_CURRENCY,
        booking_date=facts.booking_date,
        value_date=facts.value_date,
        status=facts.status,
        reversal=facts.reversal,
        payer_name=details.payer_name,
        payer_iban=details.payer_iban,
        remittance=details.remittance,
        structured_reference=details.structured_reference,
        end_to_end_id=details.end_to_end_id,
        mandate_id=details.mandate_id,
        return_reason=details.return_reason,
        bank_transaction_code=details.bank_transaction_code or facts.bank_transaction_code,
        account_iban=account.iban,
        entry_text=facts.entry_text or details.text,
    )


@dataclass(slots=True)
class _TransactionDetails:
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

    @classmethod
    def read(cls, transaction: ElementIndex | None) -> _TransactionDetails:
        if transaction is None:
            return cls()
        payer_iban = transaction.text("RltdPties/DbtrAcct/Id/IBAN")
        unstructured = transaction.all("RmtInf/Ustrd")
        return cls(
            bank_reference=_reference(transaction, "Refs/AcctSvcrRef"),
            end_to_end_id=_reference(transaction, "Refs/EndToEndId"),
            mandate_id=_reference(transaction, "Refs/MndtId"),
            # The debtor became a Party40Choice (Dbtr/Pty) in version 08.
            payer_name=transaction.text("RltdPties/Dbtr/Pty/Nm")
            or transaction.text("RltdPties/Dbtr/Nm"),
            payer_iban=None if payer_iban is None else normalize_iban(payer_iban),
            remittance=tuple(
                line for line in (" ".join((u.text or "").split()) for u in unstructured) if line
            ),
            structured_reference=transaction.text("RmtInf/Strd/CdtrRefInf/Ref"),
            return_reason=transaction.text("RtrInf/Rsn/Cd") or transaction.text("RtrInf/Rsn/Prtry"),
            bank_transaction_code=_transaction_code(transaction),
            text=transaction.text("AddtlTxInf"),
        )


def _transaction_amount(transaction: ElementIndex) -> int | None:
    # TxDtls/Amt exists from version 03; version 02 only has the amount details.
    for path in ("Amt", "AmtDtls/TxAmt/Amt"):
        element = transaction.first(path)
        if element is not None:
            return _amount(element, "transaction")
    return None


def _amount(element: Element | None, what: str) -> int | None:
    if element is None:
        return None
    currency = (element.get("Ccy") or "").strip()
    if not currency:
        raise _Rejection(f"The {what} amount has no currency.")
    if currency != ACCEPTED_CURRENCY:
        raise _Rejection(
            f"The {what} currency is '{currency}'; only {ACCEPTED_CURRENCY} amounts are accepted."
        )
    text = (element.text or "").strip()
    try:
        cents = decimal_to_cents(text)
    except AmountError as exc:
        raise _Rejection(f"The {what} amount is not valid: {exc}.") from None
    if cents == 0:
        raise _Rejection(f"The {what} amount is zero.")
    return cents


def _direction(indicator: str | None) -> Direction:
    direction = _DIRECTIONS.get(indicator or "")
    if direction is None:
        raise _Rejection(f"The credit/debit indicator '{indicator or ''}' is not CRDT or DBIT.")
    return direction


def _status(entry: ElementIndex) -> EntryStatus:
    # Up to version 07 Sts holds the code itself; version 08 wraps it in Sts/Cd.
    code = entry.text("Sts/Cd")
    if code is None:
        status_element = entry.first("Sts")
        if status_element is not None and len(status_element) == 0:
            code = (status_element.text or "").strip() or None
    if code is None:
        raise _Rejection("The entry has no status code (BOOK, PDNG or INFO).")
    status = _STATUSES.get(code)
    if status is None:
        raise _Rejection(f"The entry status '{code}' is not BOOK, PDNG or INFO.")
    return status


@functools.lru_cache(maxsize=1024)
def _day(text: str) -> date:
    # A file books its entries on a few dozen days: each is parsed once.
    return parse_iso_date(text)


def _date_choice(node: ElementIndex, name: str, what: str) -> date | None:
    """`name/Dt` or `name/DtTm`; a date and time keeps the date the bank wrote."""
    day = node.text(f"{name}/Dt")
    moment = node.text(f"{name}/DtTm")
    try:
        if day is not None:
            return _day(day)
        if moment is not None:
            parse_iso_datetime(moment)
            return parse_iso_date(moment[:10])
    except ValueError:
        raise _Rejection(f"The {what} '{day or moment}' is not a valid date.") from None
    return None


def _transaction_code(node: ElementIndex) -> str | None:
    domain = node.text("BkTxCd/Domn/Cd")
    family = node.text("BkTxCd/Domn/Fmly/Cd")
    sub_family = node.text("BkTxCd/Domn/Fmly/SubFmlyCd")
    if domain is not None:
        return "/".join(part for part in (domain, family, sub_family) if part)
    return node.text("BkTxCd/Prtry/Cd")


def _reference(node: ElementIndex, path: str) -> str | None:
    value = node.text(path)
    if value is None or value.upper() == _NOT_PROVIDED:
        return None
    return value
