from datetime import date

import pytest

from regie.db import ledger
from regie.db.treasury import ConfirmationChannel
from regie.services import accounts
from regie.services import ledger as ledger_service
from regie.services.ledger import LedgerError
from tests import factories


async def snapshot_status(lease_id: int, today: date) -> accounts.AccountStatus:
    from regie.db import tenants

    snapshot = await ledger.AccountSnapshot.get(lease_id=lease_id)
    lease = await tenants.Lease.get(id=lease_id)
    return accounts.account_status(accounts.summary_from_snapshot(snapshot), lease, today)


async def test_billing_a_month_twice_charges_once(db: object) -> None:
    _, lease = await factories.tenant_with_lease("Durand", housing_benefit_cents=15000)
    await ledger_service.bill_month(lease.id, date(2026, 11, 1))
    await ledger_service.bill_month(lease.id, date(2026, 11, 17))
    charges = await ledger.Charge.filter(lease_id=lease.id)
    assert [(c.period, c.amount_cents, c.due_date) for c in charges] == [
        (date(2026, 11, 1), 30000, date(2026, 11, 5))
    ]


async def test_each_write_keeps_the_snapshot_equal_to_the_ledger(db: object) -> None:
    _, lease = await factories.tenant_with_lease("Durand")
    await factories.bill(lease, date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1))
    declared = await ledger_service.declare_payment(
        lease.id, 45000, ledger.PaymentMethod.CHEQUE, date(2026, 9, 3), ledger.PaymentSource.FIELD
    )
    await ledger_service.confirm_payment(
        declared.id, booked_on=date(2026, 9, 8), channel=ConfirmationChannel.FILE, source="DGFiP"
    )
    await factories.confirmed_payment(lease, 45000, date(2026, 10, 6))
    await ledger_service.reject_payment(declared.id, "Chèque impayé")
    assert await accounts.stale_snapshots() == []
    status = await snapshot_status(lease.id, date(2026, 11, 26))
    assert status.confirmed_balance_cents == 90000
    # The October transfer settles September once the cheque bounced: October is the oldest unpaid.
    assert status.arrears_days == (date(2026, 11, 26) - date(2026, 10, 5)).days


async def test_a_payment_is_rejected_only_once(db: object) -> None:
    _, lease = await factories.tenant_with_lease("Durand")
    payment = await factories.confirmed_payment(lease, 45000, date(2026, 10, 6))
    await ledger_service.reject_payment(payment.id, "Prélèvement rejeté")
    with pytest.raises(LedgerError, match="already rejected"):
        await ledger_service.reject_payment(payment.id, "Prélèvement rejeté")


async def test_a_confirmed_payment_cannot_be_confirmed_again(db: object) -> None:
    _, lease = await factories.tenant_with_lease("Durand")
    payment = await factories.confirmed_payment(lease, 45000, date(2026, 10, 6))
    with pytest.raises(LedgerError, match="not awaiting confirmation"):
        await ledger_service.confirm_payment(
            payment.id,
            booked_on=date(2026, 10, 7),
            channel=ConfirmationChannel.PUSH,
            source="DGFiP",
        )


async def test_amounts_must_be_positive(db: object) -> None:
    _, lease = await factories.tenant_with_lease("Durand")
    with pytest.raises(LedgerError, match="positive"):
        await ledger_service.declare_payment(
            lease.id, 0, ledger.PaymentMethod.CASH, date(2026, 11, 1), ledger.PaymentSource.FIELD
        )
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 0


async def test_stale_snapshots_finds_a_snapshot_that_lies(db: object) -> None:
    _, lease = await factories.tenant_with_lease("Durand")
    await factories.bill(lease, date(2026, 11, 1))
    await ledger.AccountSnapshot.filter(lease_id=lease.id).update(charged_cents=1)
    assert await accounts.stale_snapshots() == [lease.id]
