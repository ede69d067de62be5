"""Resolvers of the fields of dwellings."""

from __future__ import annotations

from collections.abc import Awaitable

from strawberry.types import Info

from regie.context import Context
from regie.db import places
from regie.resolvers.loaders import value_or_load
from regie.services import records


def commune(
    root: places.Dwelling | records.DwellingRecord, info: Info[Context, None]
) -> places.Commune | records.CommuneRecord | Awaitable[places.Commune | None] | None:
    # A dwelling record comes with its commune, resolved synchronously (see regie.resolvers.loaders).
    if isinstance(root, records.DwellingRecord):
        return root.commune
    return value_or_load(info.context.loaders.commune, root.commune_id)


def surface_m2(root: places.Dwelling | records.DwellingRecord) -> float:
    return root.surface_dm2 / 100
