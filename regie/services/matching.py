"""Matching confirmations to tenants, in the order of the domain rules:

1. deterministic references — the RF creditor reference printed on rent demands
   (:mod:`regie.services.references`), a tenant code given as such (CSV column, push field) or
   found in the remittance text, the mandate id (RUM) of one of our direct debits, an RF reference
   or tenant code inside the SEPA end-to-end id;
2. a payer IBAN already linked to exactly one tenant;
3. otherwise a scored suggestion (normalised name, expected amount = the tenant's monthly share,
   booking date near a due date) that waits in the unmatched queue: never applied automatically.

Credits from bulk payers (CAF housing benefit, FSL) go to the queue whatever they say, and their
suggestions never use the amount: one credit pays many households.

A debit is either the return of an earlier payment (reversal flag, return reason, or a return
transaction code) — whose original is found by end-to-end id, else by tenant and amount — or not a
rent movement at all (bank fees), which is recorded and ignored.

:func:`plan` reads what it needs in a fixed number of queries per chunk of entries and decides;
it writes nothing (the importer applies the decisions in one short transaction).
"""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, NamedTuple

from tortoise import connections
from tortoise.expressions import Q

from regie.db import imports, ledger, matching, tenants
from regie.services import billing, bulk, database, names, payers, references
from regie.services.leases import pick_current_leases
from regie.treasury.records import BankEntry

RETURN_SUBFAMILIES = frozenset({"UPDD", "RRTN", "RPCR", "ARET"})
"""ISO 20022 bank transaction sub-families of returned or reversed payments."""
MAX_SUGGESTIONS = 3
_SLICE = 200  # entries worked on between two yields to the event loop
MIN_SUGGESTION_SCORE = 0.25
NAME_WEIGHT, AMOUNT_WEIGHT, DATE_WEIGHT = 0.6, 0.3, 0.1
# Words of a payer name that say nothing about who pays.
_NOISE_WORDS = frozenset(
    {
        "m", "mr", "mme", "mlle", "monsieur", "madame", "mademoiselle", "ou", "et", "epoux",
        "epouse", "mrs", "ms", "dr", "sci", "sarl", "sas", "ste", "societe", "le", "la", "les",
        "de", "du", "des", "d", "l",
    }
)  # fmt: skip


class Action(StrEnum):
    CONFIRM = "confirm"  # a credit for a known lease: confirm a declared payment or create one
    REVERSE = "reverse"  # a return: reject the original payment
    QUEUE = "queue"  # waits in the unmatched queue
    IGNORE = "ignore"  # not a rent movement


# The members the per-entry code uses, as plain names: on Python 3.11 reading a member from its
# enum class goes through a descriptor (about 50 ns), and it is done several times per entry.
_CONFIRM, _REVERSE, _QUEUE, _IGNORE = Action.CONFIRM, Action.REVERSE, Action.QUEUE, Action.IGNORE
_BULK_ITEM = matching.UnmatchedKind.BULK
_CREDIT_ITEM = matching.UnmatchedKind.CREDIT
_REVERSAL_ITEM = matching.UnmatchedKind.REVERSAL


@dataclass(frozen=True)
class Suggestion:
    tenant_id: int
    score: float
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"tenant_id": self.tenant_id, "score": self.score, "reasons": list(self.reasons)}


@dataclass(slots=True)  # one per entry of a file: slots make it about twice as fast to build
class Decision:
    entry: BankEntry
    action: Action
    rule: str = ""
    """Which rule matched ("RF reference", "tenant code", …), or why it was queued or ignored."""
    tenant_id: int | None = None
    tenant_code: str | None = None
    lease_id: int | None = None
    declared_payment_id: int | None = None
    original_payment_id: int | None = None
    method: ledger.PaymentMethod = ledger.PaymentMethod.TRANSFER
    queue_kind: matching.UnmatchedKind | None = None
    bulk_payer: matching.BulkPayerKind | None = None
    suggestions: Sequence[Suggestion] = ()
    iban_fingerprint: str | None = None


_NO_CODES: frozenset[str] = frozenset()  # shared: each frozenset() call makes a new object


@dataclass(slots=True, eq=False)
class _Clues:
    """What an entry says that may name a tenant, in rule order.

    Never changed once made, and shared by the entries that say the same (see :func:`_clues`): a
    chunk's clues stay alive until it is decided, and fewer objects per entry mean fewer garbage
    collector passes over them. Compared (and hashed) by identity, so that :func:`plan` can
    gather the codes of each distinct one once.
    """

    rf_codes: tuple[str, ...] = ()
    given_code: str | None = None
    text_codes: frozenset[str] = _NO_CODES
    mandate: str | None = None
    e2e_codes: frozenset[str] = _NO_CODES
    iban_fingerprint: str | None = None
    texts: tuple[str, ...] = ()


class LeaseTerms(NamedTuple):
    """What matching needs of a lease (read as plain values: no model instances per row; a named
    tuple is the cheapest immutable record to build for each of a chunk's thousands of rows)."""

    id: int
    tenant_id: int
    rent_cents: int
    service_charges_cents: int
    housing_benefit_cents: int
    start_date: date
    end_date: date | None


async def _select_in(
    select: str, column: str, values: Collection[Any], tail: str = "", extra: Sequence[Any] = ()
) -> list[Sequence[Any]]:
    """``select WHERE column IN values`` (then ``tail``, whose parameters are ``extra``) as plain
    rows: a chunk's look-ups are a few large queries, and a queryset per query cost more than the
    query itself."""
    connection = connections.get("default")
    condition, params = bulk.in_list(connection, values, 1)
    if extra:
        marks = [bulk.placeholder(connection, len(params) + i) for i in range(1, len(extra) + 1)]
        tail = tail.format(*marks)
    return await bulk.fetch(
        connection, f"{select} WHERE {column} {condition}{tail}", [*params, *extra]
    )


async def current_leases(tenant_ids: Sequence[int]) -> dict[int, LeaseTerms]:
    """Each tenant's current lease, by the rule of :func:`regie.services.leases.pick_current_leases`."""
    if not tenant_ids:
        return {}
    rows = await _select_in(
        'SELECT "id", "tenant_id", "rent_cents", "service_charges_cents", '
        '"housing_benefit_cents", "start_date", "end_date" FROM "lease"',
        '"tenant_id"',
        sorted(set(tenant_ids)),
        ' ORDER BY "start_date", "id"',
    )
    return pick_current_leases(
        LeaseTerms(
            lease_id,
            tenant_id,
            rent,
            charges,
            benefit,
            database.as_date(start),
            database.as_optional_date(end),
        )
        for lease_id, tenant_id, rent, charges, benefit, start, end in rows
    )


class _CurrentLease(NamedTuple):
    """What picking a tenant's current lease needs."""

    id: int
    tenant_id: int
    end_date: date | None


@dataclass
class _Tenants:
    """The tenants a chunk's entries name and their current leases, read together: most
    decisions need both, and one query for the two costs far less than two."""

    by_code: dict[str, int] = field(default_factory=dict)
    leases: dict[int, int] = field(default_factory=dict)
    """The id of each tenant's current lease, by the rule of :func:`pick_current_leases`. Plain
    ints: a chunk holds thousands, and a record per lease would only add objects for the garbage
    collector to go through again and again while the chunk is decided."""
    declaring: set[int] = field(default_factory=set)
    """The leases read whose snapshot may hold a declared amount (or that have no snapshot)."""

    async def read(self, column: str, values: Collection[Any]) -> None:
        """Adds the tenants whose ``column`` (``t."code"`` or ``t."id"``) is in ``values``."""
        rows = await _select_in(
            'SELECT t."code", t."id", l."id", l."end_date", s."declared_cents" FROM "tenant" t '
            'LEFT JOIN "lease" l ON l."tenant_id" = t."id" '
            'LEFT JOIN "account_snapshot" s ON s."lease_id" = l."id"',
            column,
            values,
            ' ORDER BY l."start_date", l."id"',
        )
        leases: list[_CurrentLease] = []
        by_code, declaring = self.by_code, self.declaring  # a chunk reads thousands of rows
        for code, tenant_id, lease_id, end, declared in rows:
            by_code[code] = tenant_id
            if lease_id is not None:
                leases.append(_CurrentLease(lease_id, tenant_id, database.as_optional_date(end)))
                if declared != 0:
                    declaring.add(lease_id)
        for tenant_id, lease in pick_current_leases(leases).items():
            self.leases[tenant_id] = lease.id


def is_return(entry: BankEntry) -> bool:
    if entry.direction != "debit":
        return False
    subfamily = (entry.bank_transaction_code or "").rsplit("/", 1)[-1]
    return entry.reversal or entry.return_reason is not None or subfamily in RETURN_SUBFAMILIES


def payment_method(entry: BankEntry) -> ledger.PaymentMethod:
    return _payment_method(entry.bank_transaction_code, bool(entry.mandate_id))


@functools.lru_cache(maxsize=256)  # a file uses a handful of transaction codes
def _payment_method(transaction_code: str | None, has_mandate: bool) -> ledger.PaymentMethod:
    code = (transaction_code or "").upper()
    if has_mandate or "/RDDT" in code or "DD" in code.rsplit("/", 1)[-1]:
        return ledger.PaymentMethod.DIRECT_DEBIT
    if "CHK" in code or "CHQ" in code:
        return ledger.PaymentMethod.CHEQUE
    return ledger.PaymentMethod.TRANSFER


@functools.lru_cache(maxsize=16384)
def _text_clues(text: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """The RF references and the possible tenant codes in a text. Remembered per text: payers
    write the same remittance text month after month, so a file repeats most of its texts."""
    return tuple(references.find_rf(text)), frozenset(references.code_tokens(text)) or _NO_CODES


def _clues(entry: BankEntry) -> _Clues:
    clues = _remembered_clues(
        entry.remittance,
        entry.entry_text,
        entry.structured_reference,
        entry.tenant_code,
        entry.mandate_id,
        # The fingerprint rather than the IBAN: what is remembered stays right if the key changes.
        payers.fingerprint(entry.payer_iban) if entry.payer_iban else None,
    )
    if entry.end_to_end_id:
        # Kept out of the remembered part: an end-to-end id is often unique to its payment.
        found, e2e_codes = _text_clues(entry.end_to_end_id)
        clues = _Clues(
            clues.rf_codes + found,
            clues.given_code,
            clues.text_codes,
            clues.mandate,
            e2e_codes,
            clues.iban_fingerprint,
            clues.texts,
        )
    return clues


@functools.lru_cache(maxsize=16384)
def _remembered_clues(
    remittance: tuple[str, ...],
    entry_text: str | None,
    structured_reference: str | None,
    tenant_code: str | None,
    mandate_id: str | None,
    iban_fingerprint: str | None,
) -> _Clues:
    """An entry's clues but its end-to-end id's. Remembered: a payer writes the same texts and
    references from the same account month after month, so most entries of a file share them
    with an earlier one (and then cost neither the work nor a new object)."""
    texts = remittance  # as it is, unless there is an empty line to drop or a text to add
    if entry_text or not all(texts):
        texts = tuple(t for t in (*texts, entry_text or "") if t)
    rf_codes: tuple[str, ...] = ()
    if structured_reference:
        reference = references.parse_rf(structured_reference)
        if reference is not None:
            rf_codes = (reference,)
    text_codes = _NO_CODES
    for text in texts:
        found, tokens = _text_clues(text)
        rf_codes += found
        # Most entries have one text: share its cached tokens rather than copy them.
        text_codes = text_codes | tokens if text_codes else tokens
    return _Clues(
        rf_codes,
        tenant_code.strip().upper() if tenant_code else None,
        text_codes,
        mandate_id,
        _NO_CODES,
        iban_fingerprint,
        texts,
    )


async def registered_bulk_payers() -> list[payers.KnownBulkPayer]:
    return [
        payers.KnownBulkPayer(kind, fingerprint, marker)
        for kind, fingerprint, marker in await matching.BulkPayer.all().values_list(
            "kind", "iban_fingerprint", "marker"
        )
    ]


async def plan(
    entries: Sequence[BankEntry], bulk_payers: Sequence[payers.KnownBulkPayer] = ()
) -> list[Decision]:
    """Decide what to do with each entry (all booked, all new). Reads only."""
    clues: list[_Clues] = []
    for start in range(0, len(entries), _SLICE):
        clues += [_clues(e) for e in entries[start : start + _SLICE]]
        await asyncio.sleep(0)  # CPU work on thousands of entries: let requests run meanwhile

    wanted_codes: set[str] = set()
    wanted_mandates: set[str] = set()
    wanted_fingerprints: set[str] = set()
    for c in set(clues):  # each distinct clues once: most are shared by several entries
        wanted_codes.update(c.rf_codes, c.text_codes, c.e2e_codes)
        if c.given_code:
            wanted_codes.add(c.given_code)
        if c.mandate:
            wanted_mandates.add(c.mandate)
        if c.iban_fingerprint:
            wanted_fingerprints.add(c.iban_fingerprint)
    tenants = _Tenants()
    if wanted_codes:
        await tenants.read('t."code"', sorted(wanted_codes))
    code_to_tenant = tenants.by_code
    mandates = sorted(wanted_mandates)
    mandate_to_tenant: dict[str, int] = (
        dict(
            await matching.DirectDebitMandate.filter(reference__in=mandates).values_list(
                "reference", "tenant_id"
            )
        )
        if mandates
        else {}
    )
    fingerprints = sorted(wanted_fingerprints)
    iban_tenants: dict[str, set[int]] = defaultdict(set)
    if fingerprints:
        for fingerprint, tenant_id in await matching.PayerAccount.filter(
            fingerprint__in=fingerprints
        ).values_list("fingerprint", "tenant_id"):
            iban_tenants[fingerprint].add(tenant_id)

    bulk_kinds = _BulkPayers(bulk_payers)
    decisions: list[Decision] = []
    for start in range(0, len(entries), _SLICE):
        decisions += [
            _decide(entry, clue, code_to_tenant, mandate_to_tenant, iban_tenants, bulk_kinds)
            for entry, clue in zip(
                entries[start : start + _SLICE], clues[start : start + _SLICE], strict=True
            )
        ]
        await asyncio.sleep(0)
    await _attach_leases(decisions, tenants)
    await _attach_declared(decisions, tenants.declaring)
    await _attach_originals(decisions)
    await _suggest([d for d in decisions if d.action is _QUEUE])
    return decisions


class _BulkPayers:
    """:func:`payers.bulk_payer_kind` for one chunk, each distinct question answered once (most
    entries of a file share their payer name, or have none)."""

    def __init__(self, registered: Sequence[payers.KnownBulkPayer]) -> None:
        self.registered = list(registered)
        self.known: dict[
            tuple[str | None, tuple[str, ...], str | None], matching.BulkPayerKind | None
        ] = {}

    def kind(
        self, payer_name: str | None, texts: tuple[str, ...], fingerprint: str | None
    ) -> matching.BulkPayerKind | None:
        key = (payer_name, texts, fingerprint)
        try:
            return self.known[key]
        except KeyError:
            kind = self.known[key] = payers.bulk_payer_kind(
                payer_name, texts, fingerprint, self.registered
            )
            return kind


def _first_rule(
    clue: _Clues,
    code_to_tenant: dict[str, int],
    mandate_to_tenant: dict[str, int],
    iban_tenants: dict[str, set[int]],
) -> tuple[str, Collection[int]] | None:
    """The first rule, in rule order, that points to exactly one tenant, and that tenant; else the
    first that points to several, and them; else ``None``.

    A rule is only worked out when the rules before it did not settle the entry (most entries are
    settled by the first or the third), and a rule whose clue the entry lacks is skipped (it
    points to nobody). Spelled out rule after rule rather than as a generator of candidates: it
    runs for every entry of a file, and the generator cost more than the rules it yielded.
    """
    several: tuple[str, Collection[int]] | None = None
    if clue.rf_codes:
        found = _named(clue.rf_codes, code_to_tenant)
        if len(found) == 1:
            return "RF reference", found
        if found:
            several = ("RF reference", found)
    given = clue.given_code
    if given in code_to_tenant:
        return "tenant code given", (code_to_tenant[given],)
    if clue.text_codes:
        found = _named(clue.text_codes, code_to_tenant)
        if len(found) == 1:
            return "tenant code in the remittance text", found
        if found and several is None:
            several = ("tenant code in the remittance text", found)
    mandate = clue.mandate
    if mandate in mandate_to_tenant:
        return "direct-debit mandate", (mandate_to_tenant[mandate],)
    if clue.e2e_codes:
        found = _named(clue.e2e_codes, code_to_tenant)
        if len(found) == 1:
            return "tenant code in the end-to-end id", found
        if found and several is None:
            several = ("tenant code in the end-to-end id", found)
    if clue.iban_fingerprint in iban_tenants:
        found = iban_tenants[clue.iban_fingerprint]
        if len(found) == 1:
            return "known payer account", found
        if found and several is None:
            several = ("known payer account", found)
    return several


_NOBODY: frozenset[int] = frozenset()


def _named(codes: Collection[str], code_to_tenant: dict[str, int]) -> Collection[int]:
    """The tenants whose codes are among ``codes``."""
    # Most often one of the codes names a tenant (the others are words such as "LOYER"): found
    # without building a set, which costs more than the look-ups.
    named: Collection[int] = _NOBODY
    for code in codes:
        if code in code_to_tenant:
            if named:  # a second one: rare
                return {code_to_tenant[c] for c in codes if c in code_to_tenant}
            named = (code_to_tenant[code],)
    return named


def _decide(
    entry: BankEntry,
    clue: _Clues,
    code_to_tenant: dict[str, int],
    mandate_to_tenant: dict[str, int],
    iban_tenants: dict[str, set[int]],
    bulk_payers: _BulkPayers,
) -> Decision:
    # The usual outcomes build their decision whole: setting fields one by one costs more.
    returned = entry.direction == "debit"
    if returned and not is_return(entry):
        return Decision(entry, _IGNORE, "a debit that is not a returned payment")
    fingerprint = clue.iban_fingerprint
    if not returned:
        # Markers in the text count only when the file names no payer.
        texts = () if entry.payer_name else clue.texts
        bulk = bulk_payers.kind(entry.payer_name, texts, fingerprint)
        if bulk is not None:
            return Decision(
                entry,
                _QUEUE,
                f"a bulk payer ({bulk.value.upper()}) pays many tenants in one credit",
                method=ledger.PaymentMethod.CAF,
                queue_kind=_BULK_ITEM,
                bulk_payer=bulk,
                iban_fingerprint=fingerprint,
            )
    method = payment_method(entry)
    first = _first_rule(clue, code_to_tenant, mandate_to_tenant, iban_tenants)
    if first is not None and len(first[1]) == 1:
        rule, (tenant_id,) = first
        return Decision(
            entry,
            _REVERSE if returned else _CONFIRM,
            rule,
            tenant_id,
            method=method,
            iban_fingerprint=fingerprint,
        )
    queued = Decision(
        entry,
        _QUEUE,
        method=method,
        queue_kind=_REVERSAL_ITEM if returned else _CREDIT_ITEM,
        iban_fingerprint=fingerprint,
    )
    if first is not None:  # the first rule that points to several tenants
        rule, found = first
        queued.rule = f"the {rule} points to {len(found)} tenants"
        queued.suggestions = [
            Suggestion(t, 0.0, (f"{rule} points to this tenant",)) for t in sorted(found)
        ]
    elif clue.given_code:
        queued.rule = f"no tenant has the code {clue.given_code!r}"
    elif returned:
        queued.rule = "a returned payment whose tenant no reference names"
    else:
        queued.rule = "no reference names a tenant"
    return queued


async def _attach_leases(decisions: list[Decision], tenants: _Tenants) -> None:
    wanted = [d for d in decisions if d.tenant_id is not None]
    if not wanted:
        return
    # Tenants found by their code were read with their leases; the others (found by a mandate or
    # a payer account) are read now.
    unknown = {d.tenant_id for d in wanted if d.tenant_id is not None}
    unknown.difference_update(tenants.by_code.values())
    if unknown:
        await tenants.read('t."id"', sorted(unknown))
    codes = {tenant_id: code for code, tenant_id in tenants.by_code.items()}
    leases = tenants.leases
    for decision in wanted:
        tenant_id = decision.tenant_id or 0
        decision.tenant_code = codes.get(tenant_id)
        lease_id = leases.get(tenant_id)
        if lease_id is None:
            decision.suggestions = [
                Suggestion(tenant_id, 0.0, (f"{decision.rule}, but it has no lease",))
            ]
            decision.queue_kind = _REVERSAL_ITEM if decision.action is _REVERSE else _CREDIT_ITEM
            decision.action = _QUEUE
            decision.rule = f"tenant {decision.tenant_code} has no lease"
            decision.tenant_id = None
        else:
            decision.lease_id = lease_id


async def _attach_declared(decisions: list[Decision], declaring: set[int]) -> None:
    """A declared payment of the same lease and amount is confirmed rather than a new one created.

    ``declaring`` holds the leases whose snapshot may hold a declared amount: the others have no
    declared payment (amounts are positive), and not reading their payments spares reading most
    of the ledger.
    """
    wanted = [d for d in decisions if d.action is _CONFIRM and d.lease_id in declaring]
    lease_ids = sorted({d.lease_id for d in wanted if d.lease_id is not None})
    if not lease_ids:
        return
    declared: dict[tuple[int, int], list[int]] = defaultdict(list)
    # The status as a literal: a planner uses the partial index of declared payments only when
    # the query names its condition itself (a parameter could hold any status).
    rows = await _select_in(
        'SELECT "id", "lease_id", "amount_cents" FROM "payment"',
        '"lease_id"',
        lease_ids,
        f' AND "status" = \'{ledger.PaymentStatus.DECLARED.value}\' ORDER BY "paid_on", "id"',
    )
    for payment_id, lease_id, amount in rows:
        declared[(lease_id, amount)].append(payment_id)
    for decision in wanted:
        waiting = declared.get((decision.lease_id or 0, decision.entry.amount_cents))
        if waiting:
            decision.declared_payment_id = waiting.pop(0)


async def _attach_originals(decisions: list[Decision]) -> None:
    """The payment each return reverses: by end-to-end id, else the tenant's latest of that amount."""
    wanted = [d for d in decisions if d.action is _REVERSE]
    queued_returns = [
        d
        for d in decisions
        if d.queue_kind is _REVERSAL_ITEM and d.action is _QUEUE and d.entry.end_to_end_id
    ]
    if not wanted and not queued_returns:
        return
    e2e_ids = sorted(
        {d.entry.end_to_end_id for d in wanted + queued_returns if d.entry.end_to_end_id}
    )
    by_e2e: dict[str, int] = {}
    if e2e_ids:
        for e2e, payment_id in await imports.ImportedEntry.filter(
            end_to_end_id__in=e2e_ids, credit=True, payment_id__not_isnull=True
        ).values_list("end_to_end_id", "payment_id"):
            by_e2e.setdefault(e2e, payment_id)
    lease_ids = sorted({d.lease_id for d in wanted if d.lease_id is not None})
    candidates: dict[tuple[int, int], list[int]] = defaultdict(list)
    payment_rows: dict[int, tuple[int, int, str]] = {}
    ids_by_e2e = sorted(set(by_e2e.values()))
    if lease_ids or ids_by_e2e:
        query = ledger.Payment.filter(
            Q(lease_id__in=lease_ids) | Q(id__in=ids_by_e2e),
            status__in=[ledger.PaymentStatus.CONFIRMED, ledger.PaymentStatus.DECLARED],
        ).order_by("-paid_on", "-id")
        for payment_id, lease_id, amount, status in await query.values_list(
            "id", "lease_id", "amount_cents", "status"
        ):
            payment_rows[payment_id] = (lease_id, amount, status)
            if status == ledger.PaymentStatus.CONFIRMED:
                candidates[(lease_id, amount)].append(payment_id)
    taken: set[int] = set()
    for decision in wanted + queued_returns:
        entry = decision.entry
        original = by_e2e.get(entry.end_to_end_id or "")
        if original is not None and original in payment_rows and original not in taken:
            lease_id, amount, _ = payment_rows[original]
            if amount == entry.amount_cents:
                decision.original_payment_id = original
                decision.lease_id = lease_id
                decision.action = Action.REVERSE
                decision.rule = "end-to-end id of the original payment"
                taken.add(original)
                continue
        if decision.action != Action.REVERSE or decision.lease_id is None:
            continue
        choices = [
            p for p in candidates.get((decision.lease_id, entry.amount_cents), []) if p not in taken
        ]
        if choices:
            decision.original_payment_id = choices[0]
            taken.add(choices[0])
        else:
            decision.action = Action.QUEUE
            decision.queue_kind = matching.UnmatchedKind.REVERSAL
            decision.suggestions = [
                Suggestion(decision.tenant_id or 0, 0.0, (f"{decision.rule} names this tenant",))
            ]
            decision.rule = (
                f"tenant {decision.tenant_code} has no confirmed payment of this amount to reverse"
            )
    # A return matched through its original's end-to-end id needs the tenant for live updates.
    missing = [
        d for d in wanted + queued_returns if d.action == Action.REVERSE and d.tenant_code is None
    ]
    if missing:
        lease_rows = await tenants.Lease.filter(
            id__in=[d.lease_id for d in missing if d.lease_id is not None]
        ).values_list("id", "tenant_id", "tenant__code")
        by_lease = {lease_id: (tenant_id, code) for lease_id, tenant_id, code in lease_rows}
        for decision in missing:
            decision.tenant_id, decision.tenant_code = by_lease[decision.lease_id or 0]
            decision.suggestions = []
            decision.queue_kind = None


# --- suggestions ---------------------------------------------------------------------------------


def payer_words(payer_name: str | None) -> list[str]:
    return [w for w in names.words(payer_name or "") if len(w) > 1 and w not in _NOISE_WORDS]


@dataclass(frozen=True)
class _NameWords:
    """A tenant's name as :func:`name_score` compares it, worked out once per name (the same
    tenants come back as candidates chunk after chunk)."""

    surname: str
    first_name: str
    surname_words: tuple[str, ...]
    first_words: tuple[str, ...]
    joined_surname: str

    @classmethod
    @functools.lru_cache(maxsize=16384)
    def of(cls, surname: str, first_name: str) -> _NameWords:
        all_surname = tuple(names.words(surname))
        return cls(
            surname,
            first_name,
            tuple(w for w in all_surname if w not in _NOISE_WORDS) or all_surname,
            tuple(names.words(first_name)),
            "".join(all_surname),
        )


def name_score(payer: Iterable[str], surname: str, first_name: str) -> tuple[float, list[str]]:
    """0–1: the surname's words in the payer name count most, the first name's words add to them."""
    return _name_score(set(payer), _NameWords.of(surname, first_name))


def _name_score(words: set[str], name: _NameWords) -> tuple[float, list[str]]:
    surname_words, first_words = name.surname_words, name.first_words
    reasons: list[str] = []
    found: Sequence[str] = [w for w in surname_words if w in words]
    if name.joined_surname in words and len(surname_words) > 1:
        found = surname_words
    score = 0.0
    if surname_words and found:
        score = 0.6 * len(found) / len(surname_words)
        reasons.append(f"surname {name.surname.upper()} in the payer name")
    first_found = [w for w in first_words if w in words]
    if first_found and score > 0:
        score += 0.4 * len(first_found) / len(first_words)
        reasons.append(f"first name {name.first_name.upper()} in the payer name")
    return min(score, 1.0), reasons


def amount_score(amount_cents: int, share_cents: int) -> tuple[float, list[str]]:
    if share_cents <= 0:
        return 0.0, []
    if amount_cents == share_cents:
        return 1.0, [f"amount equals the monthly share ({_euros(share_cents)})"]
    for months in (2, 3):
        if amount_cents == months * share_cents:
            return 0.6, [f"amount is {months} months of the share ({_euros(share_cents)})"]
    if abs(amount_cents - share_cents) * 20 <= share_cents:
        return 0.4, [f"amount within 5 % of the monthly share ({_euros(share_cents)})"]
    return 0.0, []


def _euros(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d} €"


def date_score(booked_on: date | None) -> tuple[float, list[str]]:
    if booked_on is None:
        return 0.0, []
    due = billing.due_date(booked_on.replace(day=1))
    days = (booked_on - due).days
    if -7 <= days <= 20:
        when = "on" if days == 0 else f"{abs(days)} days {'after' if days > 0 else 'before'}"
        return 1.0, [f"booked {when} the due date (the {due.day}th)"]
    return 0.3, []


_Scored = tuple[float, tuple[str, ...]]
"""A score and the reasons for it."""


def _as_scored(score: tuple[float, list[str]]) -> _Scored:
    return score[0], tuple(score[1])


def score_candidate(
    entry: BankEntry,
    surname: str,
    first_name: str,
    share_cents: int | None,
    *,
    use_amount: bool,
) -> Suggestion | None:
    scored = _score(
        entry,
        _as_scored(
            _name_score(set(payer_words(entry.payer_name)), _NameWords.of(surname, first_name))
        ),
        share_cents if use_amount else None,
        _as_scored(date_score(entry.booking_date)),
    )
    return None if scored is None else Suggestion(0, *scored)


def _score(
    entry: BankEntry, name: _Scored, share_cents: int | None, when: _Scored
) -> _Scored | None:
    """How well a tenant whose name scored ``name`` fits ``entry``, booked ``when``;
    ``share_cents`` is ``None`` when the amount must not count (no lease, or a bulk payer)."""
    name_score, name_reasons = name
    if name_score <= 0:
        return None
    amount, amount_reasons = (
        amount_score(entry.amount_cents, share_cents) if share_cents is not None else (0.0, [])
    )
    return _total(name_score, amount, when[0]), (*name_reasons, *amount_reasons, *when[1])


@functools.lru_cache(maxsize=4096)
def _total(name: float, amount: float, when: float) -> float:
    """The weighted score, to two places. Remembered: rounding to places costs more than the rest
    of scoring a candidate, for each of a queued entry's dozens, and the three scores take few
    values."""
    return round(NAME_WEIGHT * name + AMOUNT_WEIGHT * amount + DATE_WEIGHT * when, 2)


async def _suggest(queued: list[Decision]) -> None:
    """_Scored suggestions for queued entries: tenants sharing words with the payer name."""
    payer_of: dict[str | None, set[str]] = {}
    for decision in queued:
        if decision.entry.payer_name not in payer_of:
            payer_of[decision.entry.payer_name] = set(payer_words(decision.entry.payer_name))
    wanted_words = set().union(*payer_of.values()) if payer_of else set()
    hits: dict[int, set[str]] = defaultdict(set)
    # The other way round too: each payer name's candidates are then found from its own words,
    # not by going through every tenant that shares a word with any payer name of the chunk.
    tenants_with: dict[str, list[int]] = defaultdict(list)
    if wanted_words:
        for tenant_id, word in await _select_in(
            'SELECT "tenant_id", "word" FROM "tenant_name_word"', '"word"', sorted(wanted_words)
        ):
            hits[tenant_id].add(word)
            tenants_with[word].append(tenant_id)
    candidate_ids: set[int] = set()
    ranked_for: dict[str | None, list[int]] = {}
    for decision in queued:
        name = decision.entry.payer_name
        if name not in ranked_for:
            words = payer_of[name]
            sharing = {t for word in words for t in tenants_with.get(word, ())}
            ranked_for[name] = sorted(sharing, key=lambda t: (-len(hits[t] & words), t))[:50]
            candidate_ids.update(ranked_for[name])
        candidate_ids.update(s.tenant_id for s in decision.suggestions if s.tenant_id)
    if not candidate_ids:
        return
    people = {
        tenant_id: _NameWords.of(surname, first_name)
        for tenant_id, surname, first_name in await _select_in(
            'SELECT "id", "surname", "first_name" FROM "tenant"', '"id"', sorted(candidate_ids)
        )
    }
    shares = {
        tenant_id: billing.tenant_share_cents(lease)
        for tenant_id, lease in (await current_leases(sorted(candidate_ids))).items()
    }
    # What does not change from one entry to the next is worked out once: each payer name's
    # candidates with the score of their name and their monthly share (a chunk has few payer
    # names, and a common surname makes a long list), and the score of each booking date.
    candidates_of = {
        name: [
            (t, _as_scored(_name_score(payer_of[name], people[t])), shares.get(t))
            for t in ranked
            if t in people
        ]
        for name, ranked in ranked_for.items()
    }
    date_scores: dict[date | None, _Scored] = {}
    for index, decision in enumerate(queued):
        if index % 50 == 49:
            await asyncio.sleep(0)  # scoring dozens of candidates each: let requests run
        entry = decision.entry
        when = date_scores.get(entry.booking_date)
        if when is None:
            when = date_scores[entry.booking_date] = _as_scored(date_score(entry.booking_date))
        use_amount = decision.bulk_payer is None
        # Tenants a rule already pointed to score at least 0.5, whatever the rest says.
        given = {s.tenant_id: s for s in decision.suggestions if s.tenant_id in people}
        scored: dict[int, _Scored] = {}
        for tenant_id, named, share in candidates_of[entry.payer_name]:
            if tenant_id not in given:
                found = _score(entry, named, share if use_amount else None, when)
                if found is not None and found[0] >= MIN_SUGGESTION_SCORE:
                    scored[tenant_id] = found
        for tenant_id, base in given.items():
            named = _as_scored(_name_score(payer_of[entry.payer_name], people[tenant_id]))
            found = _score(entry, named, shares.get(tenant_id) if use_amount else None, when)
            score = 0.5 + (found[0] / 2 if found is not None else 0.0)
            extra = found[1] if found is not None else ()
            scored[tenant_id] = (round(score, 2), base.reasons + extra)
        best = sorted(scored.items(), key=lambda item: (-item[1][0], item[0]))[:MAX_SUGGESTIONS]
        decision.suggestions = [Suggestion(t, score, reasons) for t, (score, reasons) in best]
