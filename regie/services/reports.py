"""The office's arrears picture: key figures, their breakdowns and the arrears list.

Every figure comes from the account snapshots (through :func:`regie.services.accounts.account_status`,
the one definition of arrears) and from the ledger, in integer cents. Definitions, for the
households of the **current leases** (no end date, or one not yet passed) on the office's day:

- **billed** = Σ charges whose month falls in the window of the last 12 months (this month and
  the 11 before it), all leases;
- **confirmed** = Σ payments confirmed by the treasury booked (``paid_on``) in the same window;
- **collection rate** = confirmed ÷ billed;
- **arrears rate** = Σ arrears of the households ÷ billed;
- **share in arrears** = households with arrears ÷ households; **≥ 3 months** likewise with
  arrears of at least 3 months of rent;
- **buckets**: households and arrears per age bucket (0–30, 31–60, 61–90, 90+ days).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from tortoise.expressions import Q
from tortoise.functions import Sum

from regie.db import ledger, tenants, treasury
from regie.db.treasury import ConfirmationChannel
from regie.services import accounts, billing
from regie.services.access import Viewer, require_office
from regie.services.accounts import ArrearsBucket
from regie.services.clock import office_today

WINDOW_MONTHS = 12
THREE_MONTHS = 3.0
BUCKETS = (
    ArrearsBucket.DAYS_0_30,
    ArrearsBucket.DAYS_31_60,
    ArrearsBucket.DAYS_61_90,
    ArrearsBucket.DAYS_OVER_90,
)


@dataclass(frozen=True)
class BucketFigure:
    bucket: ArrearsBucket
    households: int
    arrears_cents: int


@dataclass(frozen=True)
class CommuneFigure:
    commune: str
    households: int
    households_in_arrears: int
    arrears_cents: int


@dataclass(frozen=True)
class MonthFigure:
    month: date
    billed_cents: int
    confirmed_cents: int


@dataclass(frozen=True)
class ArrearsLine:
    tenant_code: str
    title: str
    surname: str
    first_name: str
    commune: str
    arrears_cents: int
    arrears_months: float
    arrears_days: int
    bucket: ArrearsBucket
    reportable_to_caf: bool


@dataclass(frozen=True)
class ArrearsReport:
    day: date
    window_start: date
    households: int
    households_in_arrears: int
    households_three_months: int
    arrears_cents: int
    billed_cents: int
    confirmed_cents: int
    buckets: list[BucketFigure]
    communes: list[CommuneFigure]
    months: list[MonthFigure]
    lines: list[ArrearsLine]

    @property
    def collection_rate(self) -> float | None:
        return self.confirmed_cents / self.billed_cents if self.billed_cents else None

    @property
    def arrears_rate(self) -> float | None:
        return self.arrears_cents / self.billed_cents if self.billed_cents else None

    @property
    def share_in_arrears(self) -> float | None:
        return self.households_in_arrears / self.households if self.households else None

    @property
    def share_three_months(self) -> float | None:
        return self.households_three_months / self.households if self.households else None


@dataclass(frozen=True)
class _Terms:
    rent_cents: int
    service_charges_cents: int
    housing_benefit_cents: int
    start_date: date
    end_date: date | None


async def _months(window_start: date, this_month: date) -> list[MonthFigure]:
    billed: dict[date, int] = defaultdict(int)
    rows = (
        await ledger.Charge.filter(period__gte=window_start, period__lte=this_month)
        .annotate(total=Sum("amount_cents"))
        .group_by("period")
        .values_list("period", "total")
    )
    for period, total in rows:
        billed[billing.first_of_month(period)] += int(total or 0)
    confirmed: dict[date, int] = defaultdict(int)
    end = billing.add_months(this_month, 1)
    rows = (
        await ledger.Payment.filter(
            status=ledger.PaymentStatus.CONFIRMED, paid_on__gte=window_start, paid_on__lt=end
        )
        .annotate(total=Sum("amount_cents"))
        .group_by("paid_on")
        .values_list("paid_on", "total")
    )
    for paid_on, total in rows:
        confirmed[billing.first_of_month(paid_on)] += int(total or 0)
    return [
        MonthFigure(month, billed[month], confirmed[month])
        for month in (billing.add_months(window_start, i) for i in range(WINDOW_MONTHS))
    ]


async def arrears_report(viewer: Viewer, today: date | None = None) -> ArrearsReport:
    """The office's arrears picture on ``today`` (default: the office's day). Office staff only."""
    require_office(viewer)
    day = today or office_today()
    this_month = billing.first_of_month(day)
    window_start = billing.add_months(this_month, -(WINDOW_MONTHS - 1))

    leases = await tenants.Lease.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=day), start_date__lte=day
    ).values_list(
        "id",
        "rent_cents",
        "service_charges_cents",
        "housing_benefit_cents",
        "start_date",
        "end_date",
        "tenant__code",
        "tenant__title",
        "tenant__surname",
        "tenant__first_name",
        "dwelling__commune__name",
    )
    snapshots = {
        s.lease_id: s
        for s in await ledger.AccountSnapshot.filter(lease_id__in=[row[0] for row in leases])
    }
    households = in_arrears = three_months = 0
    total_arrears = 0
    per_bucket: dict[ArrearsBucket, list[int]] = {b: [0, 0] for b in BUCKETS}
    per_commune: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    lines: list[ArrearsLine] = []
    for (
        lease_id,
        rent,
        charges,
        benefit,
        start,
        end,
        code,
        title,
        surname,
        first,
        commune,
    ) in leases:
        snapshot = snapshots.get(lease_id)
        households += 1
        commune_name = str(commune or "")
        per_commune[commune_name][0] += 1
        if snapshot is None:
            continue
        status = accounts.account_status(
            accounts.summary_from_snapshot(snapshot),
            _Terms(rent, charges, benefit, start, end),
            day,
        )
        if status.arrears_cents <= 0:
            continue
        in_arrears += 1
        total_arrears += status.arrears_cents
        if status.arrears_months >= THREE_MONTHS:
            three_months += 1
        per_bucket[status.bucket][0] += 1
        per_bucket[status.bucket][1] += status.arrears_cents
        per_commune[commune_name][1] += 1
        per_commune[commune_name][2] += status.arrears_cents
        lines.append(
            ArrearsLine(
                tenant_code=code,
                title=title,
                surname=surname,
                first_name=first,
                commune=commune_name,
                arrears_cents=status.arrears_cents,
                arrears_months=status.arrears_months,
                arrears_days=status.arrears_days,
                bucket=status.bucket,
                reportable_to_caf=status.reportable_to_caf,
            )
        )
    lines.sort(key=lambda line: (-line.arrears_cents, line.tenant_code))
    months = await _months(window_start, this_month)
    return ArrearsReport(
        day=day,
        window_start=window_start,
        households=households,
        households_in_arrears=in_arrears,
        households_three_months=three_months,
        arrears_cents=total_arrears,
        billed_cents=sum(m.billed_cents for m in months),
        confirmed_cents=sum(m.confirmed_cents for m in months),
        buckets=[BucketFigure(b, *per_bucket[b]) for b in BUCKETS],
        communes=sorted(
            (CommuneFigure(name, *figures) for name, figures in per_commune.items()),
            key=lambda c: (-c.arrears_cents, c.commune),
        ),
        months=months,
        lines=lines,
    )


class EntryKind(StrEnum):
    CHARGE = "charge"
    PAYMENT = "payment"


@dataclass(frozen=True)
class LedgerEntry:
    kind: EntryKind
    on: date
    lease_start: date
    amount_cents: int
    period: date | None
    method: ledger.PaymentMethod | None
    status: ledger.PaymentStatus | None
    source: ledger.PaymentSource | None
    confirmation_channel: ConfirmationChannel | None
    confirmation_source: str | None
    confirmation_booked_on: date | None
    rejection_reason: str | None
    balance_cents: int


@dataclass(frozen=True)
class TenantLedger:
    tenant_code: str
    entries: list[LedgerEntry]
    charged_cents: int
    confirmed_cents: int
    balance_cents: int


async def tenant_ledger(viewer: Viewer, code: str) -> TenantLedger | None:
    """Every charge and payment of the tenant's leases, oldest first, each with the confirmed
    balance after it (Σ charges − Σ confirmed payments so far; declared and rejected payments do
    not move it). ``None`` for an unknown code. Office staff only."""
    require_office(viewer)
    tenant = await tenants.Tenant.get_or_none(code=code)
    if tenant is None:
        return None
    starts = dict(await tenants.Lease.filter(tenant_id=tenant.id).values_list("id", "start_date"))
    charges = await ledger.Charge.filter(lease_id__in=list(starts)).values_list(
        "id", "lease_id", "period", "due_date", "amount_cents"
    )
    payments = await ledger.Payment.filter(lease_id__in=list(starts)).values_list(
        "id", "lease_id", "paid_on", "amount_cents", "method", "status", "source",
        "rejection_reason",
    )  # fmt: skip
    confirmations = {
        row[0]: row[1:]
        for row in await treasury.Confirmation.filter(
            payment_id__in=[p[0] for p in payments]
        ).values_list("payment_id", "channel", "source", "booked_on")
    }
    # Charges first on a day (they fall due before anything pays them), then by id.
    rows: list[tuple[date, int, int, LedgerEntry]] = []
    for charge_id, lease_id, period, due, amount in charges:
        entry = LedgerEntry(
            EntryKind.CHARGE, due, starts[lease_id], amount, period,
            None, None, None, None, None, None, None, 0,
        )  # fmt: skip
        rows.append((due, 0, charge_id, entry))
    for payment_id, lease_id, paid_on, amount, method, status, source, reason in payments:
        channel, confirmed_by, booked_on = confirmations.get(payment_id, (None, None, None))
        entry = LedgerEntry(
            EntryKind.PAYMENT, paid_on, starts[lease_id], amount, None,
            ledger.PaymentMethod(method), ledger.PaymentStatus(status),
            ledger.PaymentSource(source),
            ConfirmationChannel(channel) if channel else None, confirmed_by, booked_on,
            reason, 0,
        )  # fmt: skip
        rows.append((paid_on, 1, payment_id, entry))
    rows.sort(key=lambda row: row[:3])
    balance = charged = confirmed = 0
    entries: list[LedgerEntry] = []
    for _, _, _, entry in rows:
        if entry.kind == EntryKind.CHARGE:
            balance += entry.amount_cents
            charged += entry.amount_cents
        elif entry.status == ledger.PaymentStatus.CONFIRMED:
            balance -= entry.amount_cents
            confirmed += entry.amount_cents
        entries.append(replace(entry, balance_cents=balance))
    return TenantLedger(tenant.code, entries, charged, confirmed, balance)
