"""Plain read-only records of tenants, leases, dwellings and payments: what the lookups return.

GraphQL treats a field whose value is a Tortoise row as an awaitable (Tortoise models define
``__await__``) and runs it as one more asyncio task; these records are plain values, so a page
of 20 accounts resolves synchronously below its root field. They are read with a few joined
queries that decode only the columns shown, and they carry the same attribute names as the
models, so the GraphQL types read either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from regie.db.ledger import PaymentMethod, PaymentSource, PaymentStatus
from regie.db.places import DwellingStatus, DwellingType
from regie.db.treasury import ConfirmationChannel
from regie.services import accounts, database
from regie.services.leases import pick_current_leases


@dataclass(frozen=True, slots=True)
class TenantRecord:
    id: int
    code: str
    title: str
    surname: str
    first_name: str
    phone: str | None


@dataclass(frozen=True, slots=True)
class CommuneRecord:
    id: int
    name: str
    postal_code: str


@dataclass(frozen=True, slots=True)
class DwellingRecord:
    id: int
    reference: str
    address: str
    dwelling_type: DwellingType
    status: DwellingStatus
    surface_dm2: int
    commune_id: int
    commune: CommuneRecord


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    id: int
    tenant_id: int
    dwelling_id: int
    start_date: date
    end_date: date | None
    rent_cents: int
    service_charges_cents: int
    housing_benefit_cents: int
    dwelling: DwellingRecord
    summary: accounts.LedgerSummary
    """The lease's ledger summed up, from its account snapshot (empty when it has none yet)."""
    last_payment: PaymentRecord | None


@dataclass(frozen=True, slots=True)
class ConfirmationRecord:
    id: int
    payment_id: int
    channel: ConfirmationChannel
    source: str
    booked_on: date
    applied_at: datetime
    bank_reference: str | None


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    id: int
    lease_id: int
    amount_cents: int
    method: PaymentMethod
    status: PaymentStatus
    source: PaymentSource
    paid_on: date
    recorded_at: datetime
    rejected_at: datetime | None
    rejection_reason: str | None
    confirmation: ConfirmationRecord | None


@dataclass(frozen=True, slots=True)
class ChargeRecord:
    id: int
    lease_id: int
    period: date
    amount_cents: int
    due_date: date


TENANT_COLUMNS = ("id", "code", "title", "surname", "first_name", "phone")


def tenant_record(row: dict[str, Any], prefix: str = "") -> TenantRecord:
    """The tenant of a row whose tenant columns are named ``prefix`` + the model's names."""
    return TenantRecord(*(row[prefix + column] for column in TENANT_COLUMNS))


def _in(column: str, values: Sequence[int], params: list[object]) -> str:
    """``column`` is one of ``values``. On PostgreSQL, one array parameter: the statement's text
    is then the same whatever the number of values, so asyncpg prepares it once per connection
    and PostgreSQL soon settles on a generic plan for it, instead of planning each new length
    afresh (the page of a search joins seven tables: planning it took 0.6 to 0.8 ms, more than
    running it)."""
    if database.dialect() == "postgres":
        params.append(list(values))
        return f"{column} = ANY({database.placeholder(len(params))})"
    marks = []
    for value in values:
        params.append(value)
        marks.append(database.placeholder(len(params)))
    return f"{column} IN ({', '.join(marks)})"


_PAYMENT_COLUMNS = """
       p.id AS p_id, p.lease_id AS p_lease_id, p.amount_cents AS p_amount_cents,
       p.method AS p_method, p.status AS p_status, p.source AS p_source, p.paid_on AS p_paid_on,
       p.recorded_at AS p_recorded_at, p.rejected_at AS p_rejected_at,
       p.rejection_reason AS p_rejection_reason,
       pc.id AS pc_id, pc.channel AS pc_channel, pc.source AS pc_source,
       pc.booked_on AS pc_booked_on, pc.applied_at AS pc_applied_at,
       pc.bank_reference AS pc_bank_reference"""


async def tenants(ids: Sequence[int]) -> dict[int, TenantRecord]:
    if not ids:
        return {}
    params: list[object] = []
    sql = f"SELECT {', '.join(TENANT_COLUMNS)} FROM tenant WHERE {_in('id', ids, params)}"  # noqa: S608 - placeholders only
    return {row["id"]: tenant_record(row) for row in await database.fetch(sql, params)}


_NO_LEDGER = accounts.summarize_ledger([], [])


def _summary(row: dict[str, Any]) -> accounts.LedgerSummary:
    if row["snapshot_id"] is None:
        return _NO_LEDGER
    open_charges = database.as_json(row["open_charges"])
    return accounts.LedgerSummary(
        charged_cents=int(row["charged_cents"]),
        confirmed_cents=int(row["confirmed_cents"]),
        declared_cents=int(row["declared_cents"]),
        open_charges=tuple(
            accounts.OpenCharge(date.fromisoformat(due), int(unpaid))
            for due, unpaid in open_charges
        ),
        last_charge_id=row["last_charge_id"],
        last_payment_id=row["last_payment_id"],
        as_of=database.as_optional_datetime(row["as_of"]),
    )


def _lease(row: dict[str, Any]) -> LeaseRecord:
    commune = CommuneRecord(row["commune_id"], row["commune_name"], row["postal_code"])
    dwelling = DwellingRecord(
        row["dwelling_id"],
        row["reference"],
        row["address"],
        DwellingType(row["dwelling_type"]),
        DwellingStatus(row["dwelling_status"]),
        int(row["surface_dm2"]),
        row["commune_id"],
        commune,
    )
    return LeaseRecord(
        row["id"],
        row["tenant_id"],
        row["dwelling_id"],
        database.as_date(row["start_date"]),
        database.as_optional_date(row["end_date"]),
        int(row["rent_cents"]),
        int(row["service_charges_cents"]),
        int(row["housing_benefit_cents"]),
        dwelling,
        _summary(row),
        _payment(row) if row["p_id"] is not None else None,
    )


_LEASE_COLUMNS = f"""
       l.id, l.tenant_id, l.dwelling_id, l.start_date, l.end_date, l.rent_cents,
       l.service_charges_cents, l.housing_benefit_cents,
       d.reference, d.address, d.dwelling_type, d.status AS dwelling_status, d.surface_dm2,
       d.commune_id, c.name AS commune_name, c.postal_code,
       s.id AS snapshot_id, s.charged_cents, s.confirmed_cents, s.declared_cents, s.open_charges,
       s.last_charge_id, s.last_payment_id, s.as_of, {_PAYMENT_COLUMNS}"""

# Left joins throughout: a tenant without a lease still comes back (with null lease columns).
_LEASE_JOINS = """
LEFT JOIN dwelling d ON d.id = l.dwelling_id
LEFT JOIN commune c ON c.id = d.commune_id
LEFT JOIN account_snapshot s ON s.lease_id = l.id
LEFT JOIN payment p ON p.id = s.last_payment_id
LEFT JOIN confirmation pc ON pc.payment_id = p.id"""

_LEASES = f"""
SELECT {_LEASE_COLUMNS}
FROM lease l {_LEASE_JOINS}
WHERE {{condition}}
ORDER BY l.start_date, l.id
"""  # noqa: S608 - constant text: values go in parameters

_TENANTS_WITH_LEASES = f"""
SELECT t.id AS t_id, t.code AS t_code, t.title AS t_title, t.surname AS t_surname,
       t.first_name AS t_first_name, t.phone AS t_phone, {_LEASE_COLUMNS}
FROM tenant t
LEFT JOIN lease l ON l.tenant_id = t.id {_LEASE_JOINS}
WHERE {{condition}}
ORDER BY l.start_date, l.id
"""  # noqa: S608 - constant text: values go in parameters


async def current_leases(tenant_ids: Sequence[int]) -> dict[int, LeaseRecord]:
    """Each tenant's current lease with its dwelling, commune, account and last payment (with
    its confirmation): one statement."""
    if not tenant_ids:
        return {}
    params: list[object] = []
    sql = _LEASES.format(condition=_in("l.tenant_id", tenant_ids, params))
    return pick_current_leases([_lease(row) for row in await database.fetch(sql, params)])


@dataclass(frozen=True)
class TenantsWithLeases:
    tenants: dict[int, TenantRecord]
    current_leases: dict[int, LeaseRecord]
    """By tenant id; a tenant who never had a lease has none."""


async def _tenants_with_leases(condition: str, params: list[object]) -> TenantsWithLeases:
    found: dict[int, TenantRecord] = {}
    leases: list[LeaseRecord] = []
    for row in await database.fetch(_TENANTS_WITH_LEASES.format(condition=condition), params):
        if row["t_id"] not in found:
            found[row["t_id"]] = tenant_record(row, "t_")
        if row["id"] is not None:
            leases.append(_lease(row))
    return TenantsWithLeases(found, pick_current_leases(leases))


async def tenants_with_current_leases(ids: Sequence[int]) -> TenantsWithLeases:
    """These tenants with their current leases, as :func:`current_leases` reads them: one
    statement for a page of search results."""
    if not ids:
        return TenantsWithLeases({}, {})
    params: list[object] = []
    return await _tenants_with_leases(_in("t.id", ids, params), params)


async def tenant_with_current_lease_by_code(
    code: str, commune_ids: frozenset[int] | None
) -> TenantsWithLeases:
    """The tenant with this code, if their current or a past lease lies in ``commune_ids``
    (``None``: anywhere), with their current lease: one statement."""
    params: list[object] = [code]
    condition = f"t.code = {database.placeholder(1)}"
    if commune_ids is not None:
        marks = []
        for commune_id in sorted(commune_ids) or [0]:
            params.append(commune_id)
            marks.append(database.placeholder(len(params)))
        in_scope = f"sd.commune_id IN ({', '.join(marks)})"
        condition += (
            " AND t.id IN (SELECT sl.tenant_id FROM lease sl JOIN dwelling sd "  # noqa: S608 - placeholders only
            f"ON sd.id = sl.dwelling_id WHERE {in_scope})"
        )
    return await _tenants_with_leases(condition, params)


_PAYMENTS = f"""
SELECT {_PAYMENT_COLUMNS}
FROM payment p
LEFT JOIN confirmation pc ON pc.payment_id = p.id
WHERE {{condition}}
"""  # noqa: S608 - constant text: values go in parameters


def _payment(row: dict[str, Any]) -> PaymentRecord:
    confirmation = None
    if row["pc_id"] is not None:
        confirmation = ConfirmationRecord(
            row["pc_id"],
            row["p_id"],
            ConfirmationChannel(row["pc_channel"]),
            row["pc_source"],
            database.as_date(row["pc_booked_on"]),
            database.as_datetime(row["pc_applied_at"]),
            row["pc_bank_reference"],
        )
    return PaymentRecord(
        row["p_id"],
        row["p_lease_id"],
        int(row["p_amount_cents"]),
        PaymentMethod(row["p_method"]),
        PaymentStatus(row["p_status"]),
        PaymentSource(row["p_source"]),
        database.as_date(row["p_paid_on"]),
        database.as_datetime(row["p_recorded_at"]),
        database.as_optional_datetime(row["p_rejected_at"]),
        row["p_rejection_reason"],
        confirmation,
    )


async def payments(ids: Sequence[int]) -> dict[int, PaymentRecord]:
    """Payments with their treasury confirmations: one statement."""
    if not ids:
        return {}
    params: list[object] = []
    sql = _PAYMENTS.format(condition=_in("p.id", ids, params))
    return {row["p_id"]: _payment(row) for row in await database.fetch(sql, params)}


async def payments_of_tenant(
    tenant_id: int, after: tuple[date, int] | None, limit: int
) -> list[PaymentRecord]:
    """A tenant's payments on all their leases, newest first (paid on, then id), after the
    keyset ``after``; one statement."""
    params: list[object] = [tenant_id]
    condition = f"l.tenant_id = {database.placeholder(1)}"
    if after is not None:
        paid_on, payment_id = after
        params += [paid_on, paid_on, payment_id]
        condition += (
            f" AND (p.paid_on < {database.placeholder(2)} OR (p.paid_on = "
            f"{database.placeholder(3)} AND p.id < {database.placeholder(4)}))"
        )
    params.append(limit)
    sql = (
        f"SELECT {_PAYMENT_COLUMNS} FROM payment p JOIN lease l ON l.id = p.lease_id "  # noqa: S608 - placeholders only
        f"LEFT JOIN confirmation pc ON pc.payment_id = p.id WHERE {condition} "
        f"ORDER BY p.paid_on DESC, p.id DESC LIMIT {database.placeholder(len(params))}"
    )
    return [_payment(row) for row in await database.fetch(sql, params)]


async def charges(ids: Sequence[int]) -> dict[int, ChargeRecord]:
    if not ids:
        return {}
    params: list[object] = []
    sql = (
        "SELECT id, lease_id, period, amount_cents, due_date FROM charge "  # noqa: S608 - placeholders only
        f"WHERE {_in('id', ids, params)}"
    )
    return {
        row["id"]: ChargeRecord(
            row["id"],
            row["lease_id"],
            database.as_date(row["period"]),
            int(row["amount_cents"]),
            database.as_date(row["due_date"]),
        )
        for row in await database.fetch(sql, params)
    }
