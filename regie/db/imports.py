"""Imports of treasury confirmations: one batch per file or push delivery, one identity row per entry.

Exactly-once rests on two UNIQUE constraints, never on a read-then-write: a batch is unique by
(channel, message key), and an entry by its key, inserted in the same transaction as its ledger
effect. A crash at any point therefore leaves each entry either wholly applied or not at all.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from regie.db.ledger import Payment

ENTRY_KEY_MAX_LENGTH = 200


class ImportChannel(StrEnum):
    FILE = "file"  # camt.054/053, CFONB 120 or CSV, through the CLI or the GraphQL mutation
    PUSH = "push"  # a signed delivery on POST /treasury/confirmations


class ImportStatus(StrEnum):
    RUNNING = "running"  # being applied, or interrupted (a re-run resumes it)
    DONE = "done"


class EntryOutcome(StrEnum):
    MATCHED = "matched"  # applied to a tenant's account (payment confirmed, or reversed)
    UNMATCHED = "unmatched"  # waiting in the unmatched queue for a person
    IGNORED = "ignored"  # not a rent payment (bank fees and other debits)


class ImportBatch(Model):
    """One imported file (or push delivery) and what became of its entries."""

    id = fields.IntField(primary_key=True)
    channel = fields.CharEnumField(ImportChannel, max_length=10)
    message_key = fields.CharField(
        max_length=250,
        description="Format, message id and page: what makes two deliveries 'the same file'",
    )
    message_id = fields.CharField(
        max_length=200, description="camt MsgId, push webhook-id, or SHA-256"
    )
    content_sha256 = fields.CharField(max_length=64)
    format = fields.CharField(max_length=20)
    file_name = fields.CharField(
        max_length=200, null=True, description="As given by the client, for display only"
    )
    source = fields.CharField(
        max_length=120, description="Who imported: user name, CLI or push client"
    )
    user_id = fields.IntField(null=True, description="The office user who imported it, if any")
    status = fields.CharEnumField(ImportStatus, max_length=10, default=ImportStatus.RUNNING)
    owner = fields.CharField(
        max_length=120,
        description="host:pid:nonce of the importer holding the batch, empty when free",
    )
    heartbeat_at: datetime = fields.DatetimeField(description="Last progress of the owner, UTC")
    started_at: datetime = fields.DatetimeField(description="UTC")
    finished_at: datetime | None = fields.DatetimeField(null=True, description="UTC")
    records_done = fields.IntField(
        default=0, description="Records of the file processed so far (a resumed import skips them)"
    )
    read_count = fields.IntField(default=0)
    new_count = fields.IntField(default=0)
    duplicate_count = fields.IntField(default=0)
    matched_count = fields.IntField(default=0)
    unmatched_count = fields.IntField(default=0)
    ignored_count = fields.IntField(default=0)
    pending_count = fields.IntField(default=0)
    rejected_count = fields.IntField(default=0)
    total_credit_cents = fields.BigIntField(default=0, description="Sum of the new credits, cents")

    class Meta:
        table = "import_batch"
        unique_together = (("channel", "message_key"),)


class ImportedEntry(Model):
    """The identity of one bank entry or pushed confirmation: applied once, whatever delivers it again."""

    id = fields.IntField(primary_key=True)
    entry_key = fields.CharField(max_length=ENTRY_KEY_MAX_LENGTH, unique=True)
    batch: fields.ForeignKeyRelation[ImportBatch] = fields.ForeignKeyField(
        "regie.ImportBatch", related_name="entries", on_delete=fields.RESTRICT
    )
    batch_id: int
    outcome = fields.CharEnumField(EntryOutcome, max_length=10)
    credit = fields.BooleanField(description="Money received (true) or paid out (false)")
    amount_cents = fields.BigIntField()
    booked_on: date | None = fields.DateField(null=True)
    end_to_end_id = fields.CharField(max_length=140, null=True, db_index=True)
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "regie.Payment", related_name="imported_entries", null=True, on_delete=fields.RESTRICT
    )
    payment_id: int | None

    class Meta:
        table = "imported_entry"


class RejectedLine(Model):
    """A line or entry of an imported file that could not be accepted, with where and why."""

    id = fields.IntField(primary_key=True)
    batch: fields.ForeignKeyRelation[ImportBatch] = fields.ForeignKeyField(
        "regie.ImportBatch", related_name="rejected_lines", on_delete=fields.CASCADE
    )
    batch_id: int
    position = fields.CharField(max_length=120)
    reason = fields.CharField(max_length=500)

    class Meta:
        table = "rejected_line"
