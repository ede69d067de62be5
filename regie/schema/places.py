"""GraphQL types of communes and dwellings."""

# Fields with a resolver are annotated with their GraphQL type while the resolver returns the ORM
# row Strawberry reads that type from: mypy sees an assignment mismatch that is intended.
# mypy: disable-error-code="assignment"

from __future__ import annotations

import strawberry

from regie.db.places import DwellingStatus, DwellingType
from regie.resolvers import places as resolve

strawberry.enum(DwellingType, description="Size class: T1 (one room) to T6.")
strawberry.enum(DwellingStatus, description="Whether a lease is running.")


@strawberry.type(description="A municipality of the housing stock.")
class Commune:
    id: int = strawberry.field(description="The commune's number (what setSector takes).")
    name: str = strawberry.field(description="Official name, e.g. 'Montauban'.")
    postal_code: str = strawberry.field(description="Postal code, e.g. '82000'.")


@strawberry.type(description="A dwelling (logement) of the housing stock.")
class Dwelling:
    reference: str = strawberry.field(description="The office's dwelling reference.")
    address: str = strawberry.field(description="Street address within the commune.")
    dwelling_type: DwellingType = strawberry.field(description="Size class T1–T6.")
    status: DwellingStatus = strawberry.field(description="Occupied or vacant.")
    surface_m2: float = strawberry.field(
        resolver=resolve.surface_m2, description="Living area in square metres."
    )
    commune: Commune | None = strawberry.field(description="The commune the dwelling lies in.")
