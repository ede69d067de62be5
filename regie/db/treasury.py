"""Treasury confirmations, each linked to the payment it confirms."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from regie.db.ledger import Payment


class ConfirmationChannel(StrEnum):
    FILE = "file"  # camt.054/053, CFONB 120 or CSV imported by the office
    PUSH = "push"  # the signed push endpoint
    DEMO = "demo"


class Confirmation(Model):
    id = fields.IntField(primary_key=True)
    payment: fields.OneToOneRelation[Payment] = fields.OneToOneField(
        "regie.Payment", related_name="confirmation", on_delete=fields.RESTRICT
    )
    payment_id: int
    channel = fields.CharEnumField(ConfirmationChannel, max_length=10)
    source = fields.CharField(
        max_length=120, description="Who confirmed: treasury or bank, file or push id"
    )
    booked_on: date = fields.DateField(description="Booking date at the treasury or bank")
    applied_at: datetime = fields.DatetimeField(description="When Régie applied it, UTC")
    bank_reference = fields.CharField(max_length=140, null=True)

    class Meta:
        table = "confirmation"
