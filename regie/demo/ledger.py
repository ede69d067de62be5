"""How a demo household's last 24 months of charges and payments are drawn.

Pure: takes a random generator and the lease terms, returns plain rows. The generator in
:mod:`regie.demo.office` gives them ids and writes them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from regie.db.ledger import PaymentMethod, PaymentSource, PaymentStatus
from regie.services import billing
from regie.services.clock import OFFICE_TIMEZONE

CONFIRMATION_SOURCES = (
    "DGFiP - Trésorerie de Montauban municipale",
    "DGFiP - SGC Castelsarrasin",
    "Banque de France - compte Trésor",
)
# Days between payment and its confirmation reaching the office, by method: cheques must clear,
# and cash goes from the collector to the régie, then to the treasury.
CONFIRMATION_LAG_DAYS = {
    PaymentMethod.DIRECT_DEBIT: (2, 4),
    PaymentMethod.TRANSFER: (2, 5),
    PaymentMethod.PAYMENT_SLIP: (3, 8),
    PaymentMethod.CHEQUE: (5, 15),
    PaymentMethod.CASH: (4, 20),
    PaymentMethod.CAF: (2, 5),
}
REJECTION_REASONS = {
    PaymentMethod.CHEQUE: "Chèque impayé : provision insuffisante",
    PaymentMethod.DIRECT_DEBIT: "Prélèvement rejeté : provision insuffisante (AM04)",
}


@dataclass(frozen=True)
class Profile:
    """How a household pays: ``arrears_months`` unpaid months at the end of the window."""

    method: PaymentMethod
    arrears_months: int
    pays_part_while_in_arrears: bool
    pays_late: bool
    """Pays one to three weeks after the due date."""
    declared_a_payment: bool
    """Told the collector of a payment the treasury has not confirmed yet."""


@dataclass
class DemoCharge:
    period: date
    due_date: date
    amount_cents: int


@dataclass
class DemoPayment:
    amount_cents: int
    method: PaymentMethod
    source: PaymentSource
    paid_on: date
    recorded_at: datetime
    status: PaymentStatus
    confirmed_at: datetime | None
    confirmation_source: str | None
    rejected_at: datetime | None = None
    rejection_reason: str | None = None


def draw_profile(rng: random.Random) -> Profile:
    method = rng.choices(
        [
            PaymentMethod.DIRECT_DEBIT,
            PaymentMethod.TRANSFER,
            PaymentMethod.PAYMENT_SLIP,
            PaymentMethod.CHEQUE,
            PaymentMethod.CASH,
        ],
        weights=[40, 25, 15, 12, 8],
    )[0]
    # About one household in six is in arrears, of varying depth, a few beyond six months.
    arrears_months = 0
    if rng.random() < 0.17:
        arrears_months = rng.choices(
            [1, 2, 3, 4, 5, 7, 9, 12], weights=[40, 25, 10, 6, 4, 7, 5, 3]
        )[0]
    return Profile(
        method,
        arrears_months,
        pays_part_while_in_arrears=rng.random() < 0.4,
        pays_late=method != PaymentMethod.DIRECT_DEBIT and rng.random() < 0.12,
        declared_a_payment=arrears_months > 0 and rng.random() < 0.25,
    )


def _at_office_time(day: date, rng: random.Random) -> datetime:
    local = datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)), OFFICE_TIMEZONE)
    return local.astimezone(UTC)


def draw_ledger(
    rng: random.Random,
    profile: Profile,
    share_cents: int,
    periods: list[date],
    now: datetime,
) -> tuple[list[DemoCharge], list[DemoPayment]]:
    """Charges for ``periods`` and the payments a household of ``profile`` made against them."""
    charges = [DemoCharge(p, billing.due_date(p), share_cents) for p in periods]
    payments: list[DemoPayment] = []
    today = now.astimezone(OFFICE_TIMEZONE).date()
    unpaid_from = len(periods) - profile.arrears_months
    for index, charge in enumerate(charges):
        if share_cents == 0:
            break
        amount = share_cents
        if index >= unpaid_from:
            if not profile.pays_part_while_in_arrears or rng.random() < 0.5:
                continue
            amount = share_cents // 2 // 100 * 100  # a round partial amount
        if profile.method == PaymentMethod.DIRECT_DEBIT:
            paid_on = charge.due_date
        elif profile.pays_late:
            paid_on = charge.due_date + timedelta(days=rng.randint(7, 24))
        else:
            paid_on = charge.due_date + timedelta(days=rng.randint(-6, 4))
        if paid_on > today:
            continue
        payments.extend(_payment_and_its_fate(rng, profile.method, amount, paid_on, now))
    if profile.declared_a_payment and share_cents > 0:
        # Collected in cash at the door or announced as sent in the last days: not confirmed yet.
        paid_on = today - timedelta(days=rng.randint(0, 3))
        method = rng.choice([PaymentMethod.CASH, PaymentMethod.CHEQUE, PaymentMethod.TRANSFER])
        payments.append(
            DemoPayment(
                share_cents * rng.choice([1, 1, 2]),
                method,
                PaymentSource.FIELD,
                paid_on,
                min(_at_office_time(paid_on, rng), now),
                PaymentStatus.DECLARED,
                None,
                None,
            )
        )
    return charges, payments


def _payment_and_its_fate(
    rng: random.Random, method: PaymentMethod, amount: int, paid_on: date, now: datetime
) -> list[DemoPayment]:
    # Cash goes to the collector, who declares it; the rest reaches the treasury directly.
    source = PaymentSource.FIELD if method == PaymentMethod.CASH else PaymentSource.DEMO
    recorded_at = _at_office_time(paid_on, rng)
    confirmed_at = _at_office_time(
        paid_on + timedelta(days=rng.randint(*CONFIRMATION_LAG_DAYS[method])), rng
    )
    if confirmed_at > now:
        # Not yet confirmed by the treasury: still awaiting confirmation today.
        return [
            DemoPayment(
                amount,
                method,
                source,
                paid_on,
                min(recorded_at, now),
                PaymentStatus.DECLARED,
                None,
                None,
            )
        ]
    payment = DemoPayment(
        amount,
        method,
        source,
        paid_on,
        min(recorded_at, confirmed_at),
        PaymentStatus.CONFIRMED,
        confirmed_at,
        rng.choice(CONFIRMATION_SOURCES),
    )
    reason = REJECTION_REASONS.get(method)
    if reason is None or rng.random() >= 0.006:
        return [payment]
    # A bounced cheque or returned debit, usually made good by transfer a week or two later.
    rejected_at = confirmed_at + timedelta(days=rng.randint(3, 8))
    if rejected_at > now:
        return [payment]
    payment.status = PaymentStatus.REJECTED
    payment.rejected_at = rejected_at
    payment.rejection_reason = reason
    made_good_on = rejected_at.astimezone(OFFICE_TIMEZONE).date() + timedelta(
        days=rng.randint(3, 12)
    )
    if made_good_on > now.astimezone(OFFICE_TIMEZONE).date() or rng.random() < 0.3:
        return [payment]
    return [payment, *_payment_and_its_fate(rng, PaymentMethod.TRANSFER, amount, made_good_on, now)]
