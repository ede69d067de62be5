"""The tenant ledger: monthly rent charges, payments, and the account snapshot kept per lease."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import PartialIndex
from tortoise.models import Model

from regie.db.tenants import Lease


class PaymentMethod(StrEnum):
    TRANSFER = "transfer"
    DIRECT_DEBIT = "direct_debit"
    CHEQUE = "cheque"
    CASH = "cash"
    PAYMENT_SLIP = "payment_slip"
    CAF = "caf"


class PaymentStatus(StrEnum):
    DECLARED = "declared"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class PaymentSource(StrEnum):
    """Where Régie first learnt of a payment."""

    FIELD = "field"  # declared by a collector at the door
    OFFICE = "office"  # entered by office staff
    TREASURY_FILE = "treasury_file"  # an imported bank or treasury file
    TREASURY_PUSH = "treasury_push"  # the signed push channel
    DEMO = "demo"  # the demo-office generator


class Charge(Model):
    """One monthly rent charge: rent + recoverable charges − housing benefit paid by the CAF."""

    id = fields.IntField(primary_key=True)
    lease: fields.ForeignKeyRelation[Lease] = fields.ForeignKeyField(
        "regie.Lease", related_name="charges", on_delete=fields.RESTRICT
    )
    lease_id: int
    period: date = fields.DateField(description="First day of the month billed")
    amount_cents = fields.BigIntField()
    due_date: date = fields.DateField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "charge"
        unique_together = (("lease", "period"),)


class Payment(Model):
    id = fields.IntField(primary_key=True)
    lease: fields.ForeignKeyRelation[Lease] = fields.ForeignKeyField(
        "regie.Lease", related_name="payments", on_delete=fields.RESTRICT
    )
    lease_id: int
    amount_cents = fields.BigIntField()
    method = fields.CharEnumField(PaymentMethod, max_length=20)
    status = fields.CharEnumField(PaymentStatus, max_length=10, default=PaymentStatus.DECLARED)
    source = fields.CharEnumField(PaymentSource, max_length=20)
    paid_on: date = fields.DateField(description="Date the tenant paid (as declared or as booked)")
    recorded_at: datetime = fields.DatetimeField(description="When Régie recorded it, UTC")
    rejected_at: datetime | None = fields.DatetimeField(null=True)
    rejection_reason = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "payment"
        indexes = (
            ("lease_id", "paid_on"),
            # The declared payments of a lease, which a treasury confirmation may confirm: few
            # rows, so matching does not read a lease's whole ledger to find them.
            PartialIndex(fields=("lease_id",), condition={"status": "declared"}),
        )


class AccountSnapshot(Model):
    """The ledger of one lease summed up, rewritten in the same transaction as every ledger write.

    Only :mod:`regie.services.accounts` writes it; ``regie check-accounts`` and the tests verify it
    against the ledger. ``open_charges`` lists, oldest first, the charges not yet settled by
    confirmed payments as ``[due_date ISO, unpaid cents]`` so that arrears can be aged on any day
    without reading the ledger.
    """

    # Its own id rather than the lease as primary key: Tortoise 1.1's migration autodetector
    # reports a one-to-one primary key as changed on every run.
    id = fields.IntField(primary_key=True)
    lease: fields.OneToOneRelation[Lease] = fields.OneToOneField(
        "regie.Lease", related_name="snapshot", on_delete=fields.CASCADE
    )
    lease_id: int
    charged_cents = fields.BigIntField()
    confirmed_cents = fields.BigIntField()
    declared_cents = fields.BigIntField()
    open_charges: Any = fields.JSONField()
    last_charge_id = fields.IntField(null=True)
    last_payment_id = fields.IntField(null=True)
    as_of: datetime | None = fields.DatetimeField(
        null=True, description="When the latest treasury confirmation was applied, UTC"
    )
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "account_snapshot"
