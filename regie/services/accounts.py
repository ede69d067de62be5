"""The account status of a lease: the one place where balances and arrears are computed.

Definitions (docs: ../shared/domain.md, restated in the README):

- confirmed balance = Σ charges − Σ confirmed payments (positive: the tenant owes);
- expected balance = confirmed balance − Σ declared payments (not yet confirmed by the treasury);
- confirmed payments settle the oldest charges first; what is left unpaid of charges whose due
  date has passed is the arrears, aged by the oldest such charge;
- ``as_of`` is when the latest treasury confirmation (or reversal) for the lease was applied.

The ledger is summed up into an :class:`~regie.db.ledger.AccountSnapshot` row per lease,
rewritten by :func:`refresh_snapshots` in the same transaction as every ledger write, so that a
lookup reads one row instead of the whole ledger. :func:`account_status` turns a snapshot into
the figures every surface shows, for a given day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar, cast

from regie.db import ledger, tenants, treasury
from regie.services import billing


class ArrearsBucket(StrEnum):
    NONE = "none"
    DAYS_0_30 = "0-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    DAYS_OVER_90 = "90+"


@dataclass(frozen=True)
class ChargeLine:
    id: int
    due_date: date
    amount_cents: int


@dataclass(frozen=True)
class PaymentLine:
    id: int
    amount_cents: int
    status: ledger.PaymentStatus
    paid_on: date
    confirmation_applied_at: datetime | None = None
    rejected_at: datetime | None = None


@dataclass(frozen=True)
class OpenCharge:
    due_date: date
    unpaid_cents: int


@dataclass(frozen=True)
class LedgerSummary:
    charged_cents: int
    confirmed_cents: int
    declared_cents: int
    open_charges: tuple[OpenCharge, ...]
    last_charge_id: int | None
    last_payment_id: int | None
    as_of: datetime | None


@dataclass(frozen=True)
class AccountStatus:
    confirmed_balance_cents: int
    expected_balance_cents: int
    arrears_cents: int
    arrears_days: int
    arrears_months: float
    bucket: ArrearsBucket
    monthly_rent_cents: int
    tenant_share_cents: int
    reportable_to_caf: bool
    last_charge_id: int | None
    last_payment_id: int | None
    next_due_date: date | None
    as_of: datetime | None


def summarize_ledger(
    charges: Iterable[ChargeLine], payments: Iterable[PaymentLine]
) -> LedgerSummary:
    """Sum up one lease's ledger. Pure: the demo generator and :func:`refresh_snapshots` share it."""
    ordered_charges = sorted(charges, key=lambda c: (c.due_date, c.id))
    payment_list = list(payments)
    confirmed = sum(
        p.amount_cents for p in payment_list if p.status == ledger.PaymentStatus.CONFIRMED
    )
    declared = sum(
        p.amount_cents for p in payment_list if p.status == ledger.PaymentStatus.DECLARED
    )

    available = confirmed
    open_charges: list[OpenCharge] = []
    for charge in ordered_charges:
        settled = min(max(available, 0), charge.amount_cents)
        available -= settled
        if charge.amount_cents - settled > 0:
            open_charges.append(OpenCharge(charge.due_date, charge.amount_cents - settled))

    last_payment = max(payment_list, key=lambda p: (p.paid_on, p.id), default=None)
    treasury_times = [
        t for p in payment_list for t in (p.confirmation_applied_at, p.rejected_at) if t is not None
    ]
    return LedgerSummary(
        charged_cents=sum(c.amount_cents for c in ordered_charges),
        confirmed_cents=confirmed,
        declared_cents=declared,
        open_charges=tuple(open_charges),
        last_charge_id=ordered_charges[-1].id if ordered_charges else None,
        last_payment_id=last_payment.id if last_payment else None,
        as_of=max(treasury_times, default=None),
    )


def account_status(summary: LedgerSummary, lease: billing.LeaseTerms, today: date) -> AccountStatus:
    """The figures every surface shows for a lease on ``today`` (the office's calendar day)."""
    confirmed_balance = summary.charged_cents - summary.confirmed_cents
    overdue = [c for c in summary.open_charges if c.due_date < today]
    arrears = sum(c.unpaid_cents for c in overdue)
    arrears_days = (today - overdue[0].due_date).days if overdue else 0
    monthly_rent = billing.monthly_rent_cents(lease)
    tenant_share = billing.tenant_share_cents(lease)
    return AccountStatus(
        confirmed_balance_cents=confirmed_balance,
        expected_balance_cents=confirmed_balance - summary.declared_cents,
        arrears_cents=arrears,
        arrears_days=arrears_days,
        arrears_months=round(arrears / monthly_rent, 1) if monthly_rent > 0 else 0.0,
        bucket=arrears_bucket(arrears, arrears_days),
        monthly_rent_cents=monthly_rent,
        tenant_share_cents=tenant_share,
        # The CAF's "impayé": a debt of at least twice the monthly rent and charges net of benefit.
        reportable_to_caf=tenant_share > 0 and arrears >= 2 * tenant_share,
        last_charge_id=summary.last_charge_id,
        last_payment_id=summary.last_payment_id,
        next_due_date=billing.next_due_date(lease, today),
        as_of=summary.as_of,
    )


def arrears_bucket(arrears_cents: int, arrears_days: int) -> ArrearsBucket:
    if arrears_cents <= 0:
        return ArrearsBucket.NONE
    if arrears_days <= 30:
        return ArrearsBucket.DAYS_0_30
    if arrears_days <= 60:
        return ArrearsBucket.DAYS_31_60
    if arrears_days <= 90:
        return ArrearsBucket.DAYS_61_90
    return ArrearsBucket.DAYS_OVER_90


_Due = TypeVar("_Due")


def settle_oldest_first(
    open_charges: Sequence[tuple[_Due, int]], amount_cents: int
) -> tuple[tuple[_Due, int], ...]:
    """What stays unpaid of ``open_charges`` ((due, unpaid cents), oldest first) once
    ``amount_cents`` more is confirmed, in the same order.

    Equal to what :func:`summarize_ledger` gives over the new ledger, because confirmed payments
    settle the oldest charges first: the new amount continues where the others stopped. Lets an
    import of thousands of confirmations update each snapshot without re-reading its ledger
    (reversals and charges still rewrite snapshots from the ledger: :func:`refresh_snapshots`).
    """
    remaining = amount_cents
    left: list[tuple[_Due, int]] = []
    for due, unpaid in open_charges:
        settled = min(remaining, unpaid)
        remaining -= settled
        if unpaid - settled > 0:
            left.append((due, unpaid - settled))
    return tuple(left)


# --- snapshots -------------------------------------------------------------------------------


def snapshot_fields(summary: LedgerSummary) -> dict[str, object]:
    """The column values of an AccountSnapshot row holding ``summary``."""
    return {
        "charged_cents": summary.charged_cents,
        "confirmed_cents": summary.confirmed_cents,
        "declared_cents": summary.declared_cents,
        "open_charges": [[c.due_date.isoformat(), c.unpaid_cents] for c in summary.open_charges],
        "last_charge_id": summary.last_charge_id,
        "last_payment_id": summary.last_payment_id,
        "as_of": summary.as_of,
    }


def summary_from_snapshot(snapshot: ledger.AccountSnapshot) -> LedgerSummary:
    return LedgerSummary(
        charged_cents=snapshot.charged_cents,
        confirmed_cents=snapshot.confirmed_cents,
        declared_cents=snapshot.declared_cents,
        open_charges=tuple(
            OpenCharge(date.fromisoformat(due), int(unpaid))
            for due, unpaid in snapshot.open_charges
        ),
        last_charge_id=snapshot.last_charge_id,
        last_payment_id=snapshot.last_payment_id,
        as_of=snapshot.as_of,
    )


async def summarize_leases(lease_ids: Sequence[int]) -> dict[int, LedgerSummary]:
    """Read the ledgers of ``lease_ids`` (three queries) and sum each one up."""
    charges: dict[int, list[ChargeLine]] = defaultdict(list)
    for lease_id, charge_id, due, amount in await ledger.Charge.filter(
        lease_id__in=lease_ids
    ).values_list("lease_id", "id", "due_date", "amount_cents"):
        charges[lease_id].append(ChargeLine(charge_id, due, amount))

    payment_rows = await ledger.Payment.filter(lease_id__in=lease_ids).values_list(
        "lease_id", "id", "amount_cents", "status", "paid_on", "rejected_at"
    )
    applied_at = dict(
        await treasury.Confirmation.filter(
            payment_id__in=[row[1] for row in payment_rows]
        ).values_list("payment_id", "applied_at")
    )
    payments: dict[int, list[PaymentLine]] = defaultdict(list)
    for lease_id, payment_id, amount, status, paid_on, rejected_at in payment_rows:
        payments[lease_id].append(
            PaymentLine(
                payment_id,
                amount,
                ledger.PaymentStatus(status),
                paid_on,
                applied_at.get(payment_id),
                rejected_at,
            )
        )
    return {
        lease_id: summarize_ledger(charges[lease_id], payments[lease_id]) for lease_id in lease_ids
    }


async def refresh_snapshots(lease_ids: Sequence[int]) -> None:
    """Rewrite the snapshots of ``lease_ids`` from their ledgers.

    Call it inside the transaction that wrote the ledger, so readers never see one without the other.
    """
    unique_ids = sorted(set(lease_ids))
    summaries = await summarize_leases(unique_ids)
    existing = set(
        cast(
            list[int],
            await ledger.AccountSnapshot.filter(lease_id__in=unique_ids).values_list(
                "lease_id", flat=True
            ),
        )
    )
    for lease_id in unique_ids:
        fields = snapshot_fields(summaries[lease_id])
        if lease_id in existing:
            await ledger.AccountSnapshot.filter(lease_id=lease_id).update(**fields)
        else:
            await ledger.AccountSnapshot.create(lease_id=lease_id, **fields)  # type: ignore[arg-type]


async def stale_snapshots(batch_size: int = 500) -> list[int]:
    """Leases whose snapshot differs from their ledger (or is missing). Empty when all is well."""
    stale: list[int] = []
    lease_ids = cast(
        list[int], await tenants.Lease.all().order_by("id").values_list("id", flat=True)
    )
    for start in range(0, len(lease_ids), batch_size):
        batch = lease_ids[start : start + batch_size]
        summaries = await summarize_leases(batch)
        snapshots = {s.lease_id: s for s in await ledger.AccountSnapshot.filter(lease_id__in=batch)}
        for lease_id in batch:
            snapshot = snapshots.get(lease_id)
            if snapshot is None or summary_from_snapshot(snapshot) != summaries[lease_id]:
                stale.append(lease_id)
    return stale
