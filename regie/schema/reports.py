"""GraphQL types of the office's reports: the arrears picture (key figures, breakdowns, list)."""

# Resolver fields return service dataclasses that Strawberry reads the GraphQL type from.
# mypy: disable-error-code="assignment"

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, NewType, TypeAlias

import strawberry

from regie.db.ledger import PaymentMethod, PaymentSource, PaymentStatus
from regie.db.treasury import ConfirmationChannel
from regie.resolvers import reports as resolve
from regie.schema import ledger as _ledger  # noqa: F401 - registers ArrearsBucket as a GraphQL enum first
from regie.services import reports
from regie.services.accounts import ArrearsBucket

if TYPE_CHECKING:
    BigCents: TypeAlias = int
else:
    BigCents = strawberry.scalar(
        NewType("BigCents", int),
        name="BigCents",
        description=(
            "An amount in integer cents that may exceed GraphQL's 32-bit Int (sums across "
            "tenants): a JSON number, exact up to ±2^53."
        ),
        serialize=int,
        parse_value=int,
    )


@strawberry.type(description="Households and arrears in one arrears age bucket.")
class BucketFigure:
    bucket: ArrearsBucket = strawberry.field(description="0–30, 31–60, 61–90 or 90+ days.")
    households: int = strawberry.field(description="Households of current leases in this bucket.")
    arrears_cents: BigCents = strawberry.field(description="Their arrears, in cents.")


@strawberry.type(description="Households and arrears of one commune.")
class CommuneFigure:
    commune: str = strawberry.field(description="The commune's name.")
    households: int = strawberry.field(description="Households of current leases in the commune.")
    households_in_arrears: int = strawberry.field(description="Those with arrears.")
    arrears_cents: BigCents = strawberry.field(description="Their arrears, in cents.")


@strawberry.type(description="What was billed and what the treasury confirmed in one month.")
class MonthFigure:
    month: date = strawberry.field(description="First day of the month.")
    billed_cents: BigCents = strawberry.field(
        description="Σ charges of the month (all leases), in cents."
    )
    confirmed_cents: BigCents = strawberry.field(
        description="Σ confirmed payments booked in the month (all leases), in cents."
    )


@strawberry.type(description="A household in arrears.")
class ArrearsLine:
    tenant_code: str = strawberry.field(description="Tenant code.")
    title: str = strawberry.field(description="Civility.")
    surname: str = strawberry.field(description="Surname.")
    first_name: str = strawberry.field(description="First name.")
    commune: str = strawberry.field(description="Commune of the dwelling.")
    arrears_cents: int = strawberry.field(description="Arrears, in cents.")
    arrears_months: float = strawberry.field(
        description="Arrears in months of rent: arrears ÷ (rent + service charges), one decimal."
    )
    arrears_days: int = strawberry.field(description="Age in days of the oldest unpaid charge.")
    bucket: ArrearsBucket = strawberry.field(description="Arrears age bucket.")
    reportable_to_caf: bool = strawberry.field(
        description="Arrears ≥ 2 × the tenant's monthly share."
    )


@strawberry.type(
    description=(
        "The office's arrears picture on a day, for the households of current leases; billed and "
        "confirmed over the last 12 months (this month and the 11 before it)."
    )
)
class ArrearsReport:
    day: date = strawberry.field(description="The office's day the figures are computed for.")
    window_start: date = strawberry.field(description="First day of the 12-month window.")
    households: int = strawberry.field(description="Households of current leases.")
    households_in_arrears: int = strawberry.field(description="Households with arrears > 0.")
    households_three_months: int = strawberry.field(
        description="Households with arrears of at least 3 months of rent."
    )
    arrears_cents: BigCents = strawberry.field(description="Σ arrears of the households, in cents.")
    billed_cents: BigCents = strawberry.field(
        description="Σ charges of the 12-month window, in cents."
    )
    confirmed_cents: BigCents = strawberry.field(
        description="Σ payments confirmed by the treasury in the window, in cents."
    )
    collection_rate: float | None = strawberry.field(
        description="confirmed ÷ billed over the window, 0 to 1 (or more); null when nothing was billed."
    )
    arrears_rate: float | None = strawberry.field(
        description="Σ arrears ÷ billed over the window; null when nothing was billed."
    )
    share_in_arrears: float | None = strawberry.field(
        description="Households in arrears ÷ households, 0 to 1; null without households."
    )
    share_three_months: float | None = strawberry.field(
        description="Households with ≥ 3 months of arrears ÷ households; null without households."
    )
    buckets: list[BucketFigure] = strawberry.field(
        description="Households and arrears per age bucket, youngest first."
    )
    communes: list[CommuneFigure] = strawberry.field(description="Per commune, most arrears first.")
    months: list[MonthFigure] = strawberry.field(
        description="Billed and confirmed per month of the window, oldest first."
    )
    lines: list[ArrearsLine] = strawberry.field(
        resolver=resolve.arrears_lines,
        description=(
            "Every household in arrears, most arrears first (each one is an audited account read)."
        ),
    )


strawberry.enum(
    reports.EntryKind, name="LedgerEntryKind", description="CHARGE: a monthly charge; PAYMENT."
)


@strawberry.type(description="One line of a tenant's ledger, with the confirmed balance after it.")
class LedgerEntry:
    kind: reports.EntryKind = strawberry.field(description="Charge or payment.")
    on: date = strawberry.field(description="Due date of a charge; payment date of a payment.")
    lease_start: date = strawberry.field(description="Start of the lease the line belongs to.")
    amount_cents: int = strawberry.field(description="Amount, in cents (positive).")
    period: date | None = strawberry.field(description="Charges: first day of the month billed.")
    method: PaymentMethod | None = strawberry.field(description="Payments: how the tenant paid.")
    status: PaymentStatus | None = strawberry.field(description="Payments: declared, confirmed…")
    source: PaymentSource | None = strawberry.field(
        description="Payments: where Régie first learnt of it."
    )
    confirmation_channel: ConfirmationChannel | None = strawberry.field(
        description="Confirmed payments: how the confirmation came (file, push, office)."
    )
    confirmation_source: str | None = strawberry.field(
        description="Confirmed payments: who confirmed it (treasury, bank file …)."
    )
    confirmation_booked_on: date | None = strawberry.field(
        description="Confirmed payments: booking date at the treasury or bank."
    )
    rejection_reason: str | None = strawberry.field(description="Rejected payments: why.")
    balance_cents: int = strawberry.field(
        description=(
            "Confirmed balance after this line, in cents: Σ charges − Σ confirmed payments so far "
            "(declared and rejected payments do not move it)."
        )
    )


@strawberry.type(description="Every charge and payment of a tenant's leases, oldest first.")
class TenantLedger:
    tenant_code: str = strawberry.field(description="Tenant code.")
    entries: list[LedgerEntry] = strawberry.field(description="The lines, oldest first.")
    charged_cents: int = strawberry.field(description="Σ charges, in cents.")
    confirmed_cents: int = strawberry.field(description="Σ confirmed payments, in cents.")
    balance_cents: int = strawberry.field(description="Confirmed balance at the end, in cents.")


@strawberry.type
class ReportQuery:
    tenant_ledger: TenantLedger | None = strawberry.field(
        resolver=resolve.tenant_ledger,
        description=(
            "A tenant's full ledger with the running confirmed balance; null for an unknown code. "
            "Office staff only; an audited account read."
        ),
    )
    arrears_report: ArrearsReport = strawberry.field(
        resolver=resolve.arrears_report,
        description="The office's arrears picture today. Office staff only.",
    )
