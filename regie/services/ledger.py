"""Writing the ledger: charges, declared payments, confirmations and reversals.

Each write runs in one short transaction together with the rewrite of the lease's account
snapshot, so a reader sees both or neither.
"""

from __future__ import annotations

from datetime import date, datetime

from tortoise.transactions import in_transaction

from regie.db import ledger, tenants, treasury
from regie.services import accounts, billing
from regie.services.clock import now_utc


class LedgerError(ValueError):
    """A ledger write that would make no sense (zero amount, unknown lease, a second reversal…)."""


def _check_amount(amount_cents: int) -> None:
    if amount_cents <= 0:
        raise LedgerError(f"an amount must be positive, not {amount_cents} cents")


async def bill_month(lease_id: int, period: date) -> ledger.Charge:
    """The charge of ``lease_id`` for the month starting ``period``; billing twice changes nothing."""
    period = billing.first_of_month(period)
    async with in_transaction():
        lease = await tenants.Lease.get_or_none(id=lease_id)
        if lease is None:
            raise LedgerError(f"no lease {lease_id}")
        charge, created = await ledger.Charge.get_or_create(
            lease_id=lease_id,
            period=period,
            defaults={
                "amount_cents": billing.tenant_share_cents(lease),
                "due_date": billing.due_date(period),
            },
        )
        if created:
            await accounts.refresh_snapshots([lease_id])
    return charge


async def declare_payment(
    lease_id: int,
    amount_cents: int,
    method: ledger.PaymentMethod,
    paid_on: date,
    source: ledger.PaymentSource,
) -> ledger.Payment:
    """A payment seen or announced, awaiting the treasury's confirmation."""
    _check_amount(amount_cents)
    async with in_transaction():
        if not await tenants.Lease.exists(id=lease_id):
            raise LedgerError(f"no lease {lease_id}")
        payment = await ledger.Payment.create(
            lease_id=lease_id,
            amount_cents=amount_cents,
            method=method,
            status=ledger.PaymentStatus.DECLARED,
            source=source,
            paid_on=paid_on,
            recorded_at=now_utc(),
        )
        await accounts.refresh_snapshots([lease_id])
    return payment


async def confirm_payment(
    payment_id: int,
    *,
    booked_on: date,
    channel: treasury.ConfirmationChannel,
    source: str,
    bank_reference: str | None = None,
    applied_at: datetime | None = None,
) -> treasury.Confirmation:
    """Attach the treasury's confirmation to a declared payment, which becomes confirmed."""
    async with in_transaction():
        updated = await ledger.Payment.filter(
            id=payment_id, status=ledger.PaymentStatus.DECLARED
        ).update(status=ledger.PaymentStatus.CONFIRMED)
        if updated != 1:
            raise LedgerError(f"payment {payment_id} is not awaiting confirmation")
        payment = await ledger.Payment.get(id=payment_id)
        confirmation = await treasury.Confirmation.create(
            payment_id=payment_id,
            channel=channel,
            source=source,
            booked_on=booked_on,
            applied_at=applied_at or now_utc(),
            bank_reference=bank_reference,
        )
        await accounts.refresh_snapshots([payment.lease_id])
    return confirmation


async def record_confirmed_payment(
    lease_id: int,
    amount_cents: int,
    method: ledger.PaymentMethod,
    *,
    booked_on: date,
    channel: treasury.ConfirmationChannel,
    source: str,
    bank_reference: str | None = None,
    applied_at: datetime | None = None,
) -> ledger.Payment:
    """A payment Régie learns of from the treasury's confirmation itself (nothing was declared)."""
    _check_amount(amount_cents)
    applied = applied_at or now_utc()
    async with in_transaction():
        if not await tenants.Lease.exists(id=lease_id):
            raise LedgerError(f"no lease {lease_id}")
        payment = await ledger.Payment.create(
            lease_id=lease_id,
            amount_cents=amount_cents,
            method=method,
            status=ledger.PaymentStatus.CONFIRMED,
            source=(
                ledger.PaymentSource.TREASURY_PUSH
                if channel == treasury.ConfirmationChannel.PUSH
                else ledger.PaymentSource.TREASURY_FILE
            ),
            paid_on=booked_on,
            recorded_at=applied,
        )
        await treasury.Confirmation.create(
            payment_id=payment.id,
            channel=channel,
            source=source,
            booked_on=booked_on,
            applied_at=applied,
            bank_reference=bank_reference,
        )
        await accounts.refresh_snapshots([lease_id])
    return payment


async def reject_payment(
    payment_id: int, reason: str, rejected_at: datetime | None = None
) -> ledger.Payment:
    """Reverse a payment (bounced cheque, returned debit). A second reversal is refused."""
    async with in_transaction():
        updated = (
            await ledger.Payment.filter(id=payment_id)
            .exclude(status=ledger.PaymentStatus.REJECTED)
            .update(
                status=ledger.PaymentStatus.REJECTED,
                rejected_at=rejected_at or now_utc(),
                rejection_reason=reason[:200],
            )
        )
        if updated != 1:
            raise LedgerError(f"payment {payment_id} is unknown or already rejected")
        payment = await ledger.Payment.get(id=payment_id)
        await accounts.refresh_snapshots([payment.lease_id])
    return payment
