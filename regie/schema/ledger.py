"""GraphQL types of the ledger: leases, charges, payments, confirmations and the account status."""

# Resolver fields return ORM rows or service dataclasses that Strawberry reads the GraphQL type from.
# mypy: disable-error-code="assignment"

from __future__ import annotations

from datetime import date, datetime

import strawberry

from regie.db.ledger import PaymentMethod, PaymentSource, PaymentStatus
from regie.db.treasury import ConfirmationChannel
from regie.resolvers import ledger as resolve
from regie.schema.pagination import PageInfo
from regie.services.accounts import ArrearsBucket

strawberry.enum(PaymentMethod, description="How the tenant paid.")
strawberry.enum(
    PaymentStatus,
    description=(
        "DECLARED: seen or announced, not yet confirmed by the treasury; CONFIRMED: a treasury or "
        "bank confirmation is attached; REJECTED: reversed (bounced cheque, returned direct debit)."
    ),
)
strawberry.enum(PaymentSource, description="Where Régie first learnt of the payment.")
strawberry.enum(ConfirmationChannel, description="How the confirmation reached Régie.")
strawberry.enum(
    ArrearsBucket,
    description="Age of the oldest unpaid overdue charge: NONE when nothing is overdue.",
)


@strawberry.type(description="A lease (bail) between the office and a tenant for a dwelling.")
class Lease:
    start_date: date = strawberry.field(description="First day of the lease.")
    end_date: date | None = strawberry.field(
        description="Last day of the lease; null while it runs."
    )
    rent_cents: int = strawberry.field(description="Monthly rent, in cents.")
    service_charges_cents: int = strawberry.field(
        description="Monthly recoverable service charges, in cents."
    )
    housing_benefit_cents: int = strawberry.field(
        description="Monthly housing benefit (APL/AL) paid directly to the office by the CAF, in cents."
    )
    monthly_rent_cents: int = strawberry.field(
        resolver=resolve.monthly_rent_cents,
        description="Rent plus service charges, before housing benefit, in cents.",
    )
    tenant_share_cents: int = strawberry.field(
        resolver=resolve.tenant_share_cents,
        description="What the tenant pays each month after housing benefit (loyer résiduel), in cents.",
    )


@strawberry.type(
    description="One monthly rent charge (rent + charges − housing benefit paid by the CAF)."
)
class Charge:
    period: date = strawberry.field(description="First day of the month billed.")
    amount_cents: int = strawberry.field(description="Amount charged, in cents.")
    due_date: date = strawberry.field(description="Date by which it is due.")


@strawberry.type(description="A treasury or bank confirmation that a payment was received.")
class Confirmation:
    booked_on: date = strawberry.field(description="Booking date at the treasury or bank.")
    applied_at: datetime = strawberry.field(
        description="When Régie applied the confirmation (UTC)."
    )
    channel: ConfirmationChannel = strawberry.field(description="File import or signed push.")
    source: str = strawberry.field(
        description="Who confirmed it: the treasury or bank and the file or push."
    )


@strawberry.type(description="A payment towards a lease.")
class Payment:
    amount_cents: int = strawberry.field(description="Amount paid, in cents (positive).")
    method: PaymentMethod = strawberry.field(description="How it was paid.")
    status: PaymentStatus = strawberry.field(
        description="Declared, confirmed by the treasury, or rejected."
    )
    source: PaymentSource = strawberry.field(description="Where Régie first learnt of it.")
    paid_on: date = strawberry.field(description="Date paid, as declared or as booked.")
    recorded_at: datetime = strawberry.field(description="When Régie recorded it (UTC).")
    rejected_at: datetime | None = strawberry.field(
        description="When it was reversed (UTC), if rejected."
    )
    rejection_reason: str | None = strawberry.field(description="Why it was reversed, if rejected.")
    confirmation: Confirmation | None = strawberry.field(
        description="The treasury confirmation (its date and source), when there is one."
    )


@strawberry.type(description="An edge of a payment connection.")
class PaymentEdge:
    cursor: str = strawberry.field(description="Opaque cursor of this payment.")
    node: Payment = strawberry.field(description="The payment.")


@strawberry.type(description="A page of payments, newest first.")
class PaymentConnection:
    edges: list[PaymentEdge] = strawberry.field(description="The payments of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits.")


@strawberry.type(
    description=(
        "A tenant's account as the treasury confirmed it, computed from the ledger. Positive balances: "
        "the tenant owes. Amounts in cents."
    )
)
class AccountStatus:
    confirmed_balance_cents: int = strawberry.field(
        description="Charges minus payments confirmed by the treasury, in cents."
    )
    expected_balance_cents: int = strawberry.field(
        description="Confirmed balance minus payments declared but not yet confirmed, in cents."
    )
    arrears_cents: int = strawberry.field(
        description="Overdue part of the confirmed balance (confirmed payments settle the oldest charges first), in cents."
    )
    arrears_days: int = strawberry.field(
        description="Age in days of the oldest unpaid overdue charge; 0 without arrears."
    )
    arrears_months: float = strawberry.field(
        description="Arrears in months of rent: arrears ÷ (rent + service charges), one decimal."
    )
    bucket: ArrearsBucket = strawberry.field(
        description="Arrears age bucket: 0–30, 31–60, 61–90, 90+ days."
    )
    monthly_rent_cents: int = strawberry.field(
        description="Rent plus service charges, before housing benefit, in cents."
    )
    tenant_share_cents: int = strawberry.field(
        description="The tenant's own monthly share after housing benefit paid to the office, in cents."
    )
    reportable_to_caf: bool = strawberry.field(
        description="Arrears reach twice the tenant's monthly share: an 'impayé' to report to the CAF within 2 months."
    )
    next_due_date: date | None = strawberry.field(
        description="The next due date while the lease runs; null once it has ended."
    )
    as_of: datetime | None = strawberry.field(
        description="When the latest treasury confirmation for this account was applied (UTC); null if none yet."
    )
    last_charge: Charge | None = strawberry.field(
        resolver=resolve.last_charge, description="The latest rent charge."
    )
    last_payment: Payment | None = strawberry.field(
        resolver=resolve.last_payment, description="The latest payment, whatever its status."
    )
