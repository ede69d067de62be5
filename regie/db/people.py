"""The people who use Régie: collectors, office staff, admins; and collectors' sectors."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from regie.db.places import Commune


class Role(StrEnum):
    COLLECTOR = "collector"
    OFFICE = "office"
    ADMIN = "admin"


class User(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=60, unique=True)
    full_name = fields.CharField(max_length=120)
    role = fields.CharEnumField(Role, max_length=10)
    active = fields.BooleanField(default=True)
    password_hash = fields.CharField(
        max_length=200,
        null=True,
        description="argon2id hash of the password (office staff and admins)",
    )
    pin_hash = fields.CharField(
        max_length=200, null=True, description="argon2id hash of the PIN (collectors)"
    )
    failed_sign_ins = fields.IntField(default=0, description="Consecutive failed sign-ins")
    locked_until: datetime | None = fields.DatetimeField(
        null=True,
        description="Sign-in refused until then (UTC), far future = locked until an admin unlocks",
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "app_user"


class Sector(Model):
    """A set of communes worked by one collector."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=80, unique=True)
    collector: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "regie.User", related_name="sectors", null=True, on_delete=fields.SET_NULL
    )
    collector_id: int | None
    communes: fields.ManyToManyRelation[Commune] = fields.ManyToManyField(
        "regie.Commune", related_name="sectors", through="sector_commune"
    )

    class Meta:
        table = "sector"
