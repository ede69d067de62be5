"""Resolvers of the fields of dwellings."""

from __future__ import annotations

from strawberry.types import Info

from regie.context import Context
from regie.db import places


async def commune(root: places.Dwelling, info: Info[Context, None]) -> places.Commune | None:
    return await info.context.loaders.commune.load(root.commune_id)


def surface_m2(root: places.Dwelling) -> float:
    return root.surface_dm2 / 100
