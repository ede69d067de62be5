"""What matching a confirmation to a tenant relies on, and the queue of those it could not match.

IBANs are never stored whole: a keyed fingerprint (HMAC-SHA256, see
:mod:`regie.services.payers`) to recognise them, and the last four characters to show.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from regie.db.imports import ImportBatch
from regie.db.ledger import Payment
from regie.db.tenants import Tenant


class UnmatchedKind(StrEnum):
    CREDIT = "credit"  # money received that no reference ties to a tenant
    BULK = "bulk"  # a credit from a bulk payer (CAF, FSL): one amount for many households
    REVERSAL = "reversal"  # a returned payment whose original could not be found


class UnmatchedStatus(StrEnum):
    OPEN = "open"
    MATCHED = "matched"
    DISMISSED = "dismissed"


class BulkPayerKind(StrEnum):
    CAF = "caf"  # housing benefit (APL/AL) paid to the landlord
    FSL = "fsl"  # housing solidarity fund
    OTHER = "other"


class UnmatchedItem(Model):
    """An entry waiting for a person: the suggestions are never applied automatically."""

    id = fields.IntField(primary_key=True)
    batch: fields.ForeignKeyRelation[ImportBatch] = fields.ForeignKeyField(
        "regie.ImportBatch", related_name="unmatched_items", on_delete=fields.RESTRICT
    )
    batch_id: int
    entry_key = fields.CharField(max_length=200, unique=True)
    kind = fields.CharEnumField(UnmatchedKind, max_length=10)
    status = fields.CharEnumField(UnmatchedStatus, max_length=10, default=UnmatchedStatus.OPEN)
    amount_cents = fields.BigIntField(description="Positive, cents")
    booked_on: date | None = fields.DateField(null=True)
    payer_name = fields.CharField(max_length=140, null=True)
    payer_iban_fingerprint = fields.CharField(max_length=64, null=True)
    payer_iban_last4 = fields.CharField(max_length=4, null=True)
    remittance = fields.CharField(max_length=500, null=True)
    end_to_end_id = fields.CharField(max_length=140, null=True)
    bulk_payer = fields.CharEnumField(BulkPayerKind, max_length=10, null=True)
    reason = fields.CharField(max_length=300, description="Why it was not matched")
    suggestions: Any = fields.JSONField(
        description="[{'tenant_id': int, 'score': float 0–1, 'reasons': [str]}], best first"
    )
    created_at: datetime = fields.DatetimeField(description="UTC")
    resolved_at: datetime | None = fields.DatetimeField(null=True, description="UTC")
    resolved_by_id = fields.IntField(null=True)
    dismiss_reason = fields.CharField(max_length=200, null=True)
    tenant: fields.ForeignKeyNullableRelation[Tenant] = fields.ForeignKeyField(
        "regie.Tenant", related_name="matched_items", null=True, on_delete=fields.RESTRICT
    )
    tenant_id: int | None
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "regie.Payment", related_name="matched_items", null=True, on_delete=fields.RESTRICT
    )
    payment_id: int | None

    class Meta:
        table = "unmatched_item"
        indexes = (("status", "id"),)


class PayerAccount(Model):
    """A bank account of a payer, known to pay for a tenant (learnt when a person matches an item)."""

    id = fields.IntField(primary_key=True)
    fingerprint = fields.CharField(max_length=64, description="Keyed HMAC-SHA256 of the IBAN, hex")
    last4 = fields.CharField(max_length=4, description="Last four characters, for display")
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "regie.Tenant", related_name="payer_accounts", on_delete=fields.CASCADE
    )
    tenant_id: int
    created_at: datetime = fields.DatetimeField(description="UTC")

    class Meta:
        table = "payer_account"
        unique_together = (("fingerprint", "tenant"),)


class BulkPayer(Model):
    """A payer that pays many tenants in one credit, recognised by its IBAN or a name marker."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=120)
    kind = fields.CharEnumField(BulkPayerKind, max_length=10)
    iban_fingerprint = fields.CharField(max_length=64, null=True, unique=True)
    iban_last4 = fields.CharField(max_length=4, null=True)
    marker = fields.CharField(
        max_length=80, null=True, description="Upper-case text that identifies it in a payer name"
    )

    class Meta:
        table = "bulk_payer"


class DirectDebitMandate(Model):
    """A SEPA direct-debit mandate (RUM) the office collects under, and whose tenant it is."""

    id = fields.IntField(primary_key=True)
    reference = fields.CharField(max_length=35, unique=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "regie.Tenant", related_name="mandates", on_delete=fields.CASCADE
    )
    tenant_id: int

    class Meta:
        table = "direct_debit_mandate"
