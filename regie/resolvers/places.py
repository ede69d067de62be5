"""Resolvers of the fields of dwellings."""

from __future__ import annotations

from regie.services import records


def surface_m2(root: records.DwellingRecord) -> float:
    return root.surface_dm2 / 100
