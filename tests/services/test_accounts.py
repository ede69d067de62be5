from datetime import UTC, date, datetime
from types import SimpleNamespace

from regie.db.ledger import PaymentStatus
from regie.services.accounts import (
    ArrearsBucket,
    ChargeLine,
    PaymentLine,
    account_status,
    arrears_bucket,
    summarize_ledger,
)

LEASE = SimpleNamespace(
    rent_cents=40000,
    service_charges_cents=5000,
    housing_benefit_cents=15000,
    start_date=date(2020, 1, 1),
    end_date=None,
)
SHARE = 30000  # 400 € rent + 50 € charges − 150 € housing benefit
CHARGES = [ChargeLine(i + 1, date(2026, month, 5), SHARE) for i, month in enumerate((8, 9, 10, 11))]


def confirmed(
    payment_id: int, amount: int, paid_on: date, applied: datetime | None = None
) -> PaymentLine:
    return PaymentLine(
        payment_id,
        amount,
        PaymentStatus.CONFIRMED,
        paid_on,
        applied or datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_balance_is_charges_minus_confirmed_payments() -> None:
    summary = summarize_ledger(CHARGES, [confirmed(1, SHARE, date(2026, 8, 5))])
    status = account_status(summary, LEASE, date(2026, 11, 26))
    assert status.confirmed_balance_cents == 3 * SHARE


def test_declared_payments_count_only_in_the_expected_balance() -> None:
    payments = [PaymentLine(1, SHARE, PaymentStatus.DECLARED, date(2026, 11, 20))]
    status = account_status(summarize_ledger(CHARGES, payments), LEASE, date(2026, 11, 26))
    assert status.confirmed_balance_cents == 4 * SHARE
    assert status.expected_balance_cents == 3 * SHARE
    assert status.arrears_cents == 4 * SHARE


def test_rejected_payments_count_nowhere() -> None:
    payments = [PaymentLine(1, SHARE, PaymentStatus.REJECTED, date(2026, 8, 5))]
    status = account_status(summarize_ledger(CHARGES, payments), LEASE, date(2026, 11, 26))
    assert status.confirmed_balance_cents == status.expected_balance_cents == 4 * SHARE


def test_confirmed_payments_settle_the_oldest_charges_first() -> None:
    # 1.5 charges paid: August settled, September half paid; arrears age from 5 September.
    summary = summarize_ledger(CHARGES, [confirmed(1, SHARE + SHARE // 2, date(2026, 10, 1))])
    status = account_status(summary, LEASE, date(2026, 11, 26))
    assert status.arrears_cents == SHARE // 2 + 2 * SHARE
    assert status.arrears_days == (date(2026, 11, 26) - date(2026, 9, 5)).days


def test_a_charge_not_yet_due_is_in_the_balance_but_not_in_arrears() -> None:
    paid_to_october = [confirmed(1, 3 * SHARE, date(2026, 10, 5))]
    status = account_status(summarize_ledger(CHARGES, paid_to_october), LEASE, date(2026, 11, 3))
    assert status.confirmed_balance_cents == SHARE
    assert status.arrears_cents == 0
    assert status.bucket == ArrearsBucket.NONE
    later = account_status(summarize_ledger(CHARGES, paid_to_october), LEASE, date(2026, 11, 6))
    assert later.arrears_cents == SHARE
    assert later.arrears_days == 1
    assert later.bucket == ArrearsBucket.DAYS_0_30


def test_arrears_in_months_are_measured_against_rent_plus_charges() -> None:
    status = account_status(summarize_ledger(CHARGES, []), LEASE, date(2026, 11, 26))
    assert status.arrears_cents == 120000
    assert status.arrears_months == round(120000 / 45000, 1)
    assert status.monthly_rent_cents == 45000
    assert status.tenant_share_cents == SHARE


def test_buckets_follow_the_age_of_the_oldest_unpaid_charge() -> None:
    assert arrears_bucket(0, 0) == ArrearsBucket.NONE
    assert arrears_bucket(1, 30) == ArrearsBucket.DAYS_0_30
    assert arrears_bucket(1, 31) == ArrearsBucket.DAYS_31_60
    assert arrears_bucket(1, 60) == ArrearsBucket.DAYS_31_60
    assert arrears_bucket(1, 61) == ArrearsBucket.DAYS_61_90
    assert arrears_bucket(1, 90) == ArrearsBucket.DAYS_61_90
    assert arrears_bucket(1, 91) == ArrearsBucket.DAYS_OVER_90


def test_overpayment_gives_a_negative_balance_and_no_arrears() -> None:
    status = account_status(
        summarize_ledger(CHARGES, [confirmed(1, 5 * SHARE, date(2026, 8, 1))]),
        LEASE,
        date(2026, 11, 26),
    )
    assert status.confirmed_balance_cents == -SHARE
    assert status.arrears_cents == 0


def test_as_of_is_the_latest_confirmation_or_reversal_applied() -> None:
    first = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)
    reversal = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    payments = [
        confirmed(1, SHARE, date(2026, 11, 5), first),
        PaymentLine(2, SHARE, PaymentStatus.REJECTED, date(2026, 10, 5), first, reversal),
        PaymentLine(3, SHARE, PaymentStatus.DECLARED, date(2026, 11, 25)),
    ]
    summary = summarize_ledger(CHARGES, payments)
    assert summary.as_of == reversal
    assert summary.last_payment_id == 3


def test_without_any_confirmation_as_of_is_unknown() -> None:
    assert summarize_ledger(CHARGES, []).as_of is None


def test_reportable_to_caf_from_two_months_of_the_tenant_share() -> None:
    one_month = summarize_ledger(CHARGES[:2], [confirmed(1, SHARE, date(2026, 8, 5))])
    two_months = summarize_ledger(CHARGES[:3], [confirmed(1, SHARE, date(2026, 8, 5))])
    assert not account_status(one_month, LEASE, date(2026, 11, 26)).reportable_to_caf
    assert account_status(two_months, LEASE, date(2026, 11, 26)).reportable_to_caf


def test_next_due_date_is_the_coming_fifth_while_the_lease_runs() -> None:
    summary = summarize_ledger(CHARGES, [])
    assert account_status(summary, LEASE, date(2026, 11, 26)).next_due_date == date(2026, 12, 5)
    assert account_status(summary, LEASE, date(2026, 11, 5)).next_due_date == date(2026, 11, 5)
    ended = SimpleNamespace(**{**LEASE.__dict__, "end_date": date(2026, 11, 30)})
    assert account_status(summary, ended, date(2026, 11, 26)).next_due_date is None
