"""Sign-in: enrolled devices, sessions, and the audit log."""

from __future__ import annotations

from datetime import datetime

from tortoise import fields
from tortoise.models import Model

from regie.db.people import User


class Device(Model):
    """A phone an admin enrolled for a collector: its secret is what the collector holds."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "regie.User", related_name="devices", on_delete=fields.CASCADE
    )
    user_id: int
    label = fields.CharField(max_length=80)
    secret_hash = fields.CharField(
        max_length=64, unique=True, description="SHA-256 of the device secret"
    )
    enrolled_at: datetime = fields.DatetimeField()
    revoked_at: datetime | None = fields.DatetimeField(null=True)
    last_used_at: datetime | None = fields.DatetimeField(null=True)

    class Meta:
        table = "device"


class Session(Model):
    """A signed-in session. Only the SHA-256 of its token is stored."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "regie.User", related_name="sessions", on_delete=fields.CASCADE
    )
    user_id: int
    device: fields.ForeignKeyNullableRelation[Device] = fields.ForeignKeyField(
        "regie.Device", related_name="sessions", null=True, on_delete=fields.CASCADE
    )
    device_id: int | None
    surface = fields.CharField(max_length=10, description="html or wml")
    created_at: datetime = fields.DatetimeField()
    last_seen_at: datetime = fields.DatetimeField()
    expires_at: datetime = fields.DatetimeField(description="Absolute end, whatever the activity")
    revoked_at: datetime | None = fields.DatetimeField(null=True)

    class Meta:
        table = "session"


class AuditEvent(Model):
    """One line of the append-only, hash-chained audit log."""

    id = fields.BigIntField(primary_key=True)
    at: datetime = fields.DatetimeField(db_index=True)
    actor = fields.CharField(max_length=80, description="user:12, client:treasury, anonymous")
    surface = fields.CharField(max_length=10, description="graphql, wml, html, cli, push")
    action = fields.CharField(max_length=40)
    tenant_code = fields.CharField(max_length=12, null=True, db_index=True)
    outcome = fields.CharField(max_length=10, description="ok, denied, failed")
    detail = fields.CharField(max_length=200, default="")
    # Unique: two writers chaining onto the same event cannot both succeed (the loser retries).
    previous_hash = fields.CharField(max_length=64, unique=True)
    hash = fields.CharField(max_length=64)  # not unique: previous_hash is (migration 0005)

    class Meta:
        table = "audit_event"
