"""Tenants, the words their names are searched by, and their leases."""

from __future__ import annotations

from datetime import date

from tortoise import fields
from tortoise.models import Model

from regie.db.places import Dwelling

NAME_MAX_LENGTH = 80
CODE_MAX_LENGTH = 12


class Tenant(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(
        max_length=CODE_MAX_LENGTH, unique=True, description="Tenant code printed on rent demands"
    )
    title = fields.CharField(max_length=10, description="M., Mme …")
    surname = fields.CharField(max_length=NAME_MAX_LENGTH)
    first_name = fields.CharField(max_length=NAME_MAX_LENGTH)
    phone = fields.CharField(max_length=20, null=True)
    search_key = fields.CharField(
        max_length=200,
        description="Normalised 'surname first name' (lower case, no accents) used for ranking and ordering",
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tenant"
        # Covers the name search's walk in key order: no table row is read for the ordering.
        indexes = (("search_key", "code"),)


class TenantNameWord(Model):
    """One searchable word of the name of a tenant (normalised), so prefix search uses an index."""

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "regie.Tenant", related_name="name_words", on_delete=fields.CASCADE
    )
    tenant_id: int
    # The single-column index is redundant with the covering one below, but dropping it means
    # altering the field, which Tortoise 1.1 does on SQLite by rebuilding the table without its
    # unique constraint.
    word = fields.CharField(max_length=NAME_MAX_LENGTH, db_index=True)

    class Meta:
        table = "tenant_name_word"
        unique_together = (("tenant", "word"),)
        # A word range yields its tenants from the index alone (no row read per match): the
        # search's collect plan reads thousands of them for a common first name.
        indexes = (("word", "tenant_id"),)


class Lease(Model):
    id = fields.IntField(primary_key=True)
    dwelling: fields.ForeignKeyRelation[Dwelling] = fields.ForeignKeyField(
        "regie.Dwelling", related_name="leases", on_delete=fields.RESTRICT
    )
    dwelling_id: int
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "regie.Tenant", related_name="leases", on_delete=fields.RESTRICT
    )
    tenant_id: int
    start_date: date = fields.DateField()
    end_date: date | None = fields.DateField(null=True)
    rent_cents = fields.BigIntField(description="Monthly rent, cents")
    service_charges_cents = fields.BigIntField(
        description="Monthly recoverable service charges, cents"
    )
    housing_benefit_cents = fields.BigIntField(
        default=0,
        description="Monthly housing benefit paid directly by the CAF to the landlord, cents",
    )

    class Meta:
        table = "lease"
        indexes = (("tenant_id", "start_date"),)
