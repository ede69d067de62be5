"""Where tenants live: communes, residences (building groups) and dwellings."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class DwellingType(StrEnum):
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    T5 = "T5"
    T6 = "T6"


class DwellingStatus(StrEnum):
    OCCUPIED = "occupied"
    VACANT = "vacant"


class Commune(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(
        max_length=80, description="Official name, e.g. 'Saint-Étienne-de-Tulmont'"
    )
    postal_code = fields.CharField(max_length=5)

    class Meta:
        table = "commune"
        unique_together = (("name", "postal_code"),)


class Residence(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=120)
    commune: fields.ForeignKeyRelation[Commune] = fields.ForeignKeyField(
        "regie.Commune", related_name="residences", on_delete=fields.RESTRICT
    )
    commune_id: int

    class Meta:
        table = "residence"


class Dwelling(Model):
    id = fields.IntField(primary_key=True)
    reference = fields.CharField(max_length=20, unique=True)
    residence: fields.ForeignKeyNullableRelation[Residence] = fields.ForeignKeyField(
        "regie.Residence", related_name="dwellings", null=True, on_delete=fields.RESTRICT
    )
    residence_id: int | None
    commune: fields.ForeignKeyRelation[Commune] = fields.ForeignKeyField(
        "regie.Commune", related_name="dwellings", on_delete=fields.RESTRICT
    )
    commune_id: int
    address = fields.CharField(max_length=200, description="Street address within the commune")
    dwelling_type = fields.CharEnumField(DwellingType, max_length=2)
    surface_dm2 = fields.IntField(description="Living area in square decimetres (1 m² = 100 dm²)")
    status = fields.CharEnumField(DwellingStatus, max_length=10, default=DwellingStatus.OCCUPIED)

    class Meta:
        table = "dwelling"
