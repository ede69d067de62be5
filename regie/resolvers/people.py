"""Resolvers of admin work on people: users, their secrets and phones, sectors, communes.

Every check and audit event is in :mod:`regie.services.people`; these only translate arguments.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from regie.context import Context
from regie.db import auth, people, places
from regie.services import people as people_service
from regie.services.people import NewDevice, Person, SectorView

USERNAME = strawberry.argument(description="The user's sign-in name.")
PIN = strawberry.argument(
    description="At least 6 digits, not one digit repeated nor a sequence (collectors only)."
)
PASSWORD = strawberry.argument(
    description="At least 12 characters, at least 4 of them different (office staff and admins)."
)


# Queries


async def users(
    info: Info[Context, None],
    role: Annotated[
        people.Role | None, strawberry.argument(description="Only users of this role.")
    ] = None,
) -> list[Person]:
    return await people_service.list_users(info.context.require_viewer(), role)


async def sectors(info: Info[Context, None]) -> list[SectorView]:
    return await people_service.list_sectors(info.context.require_viewer())


async def communes(info: Info[Context, None]) -> list[places.Commune]:
    return await people_service.list_communes(info.context.require_viewer())


def device_active(root: auth.Device) -> bool:
    return root.revoked_at is None


# Mutations


async def create_user(
    info: Info[Context, None],
    username: Annotated[
        str,
        strawberry.argument(
            description="Sign-in name: 1 to 60 letters, digits, dots or hyphens (stored in lower case)."
        ),
    ],
    full_name: Annotated[
        str, strawberry.argument(description="Name as shown to colleagues, 1 to 120 characters.")
    ],
    role: Annotated[people.Role, strawberry.argument(description="Collector, office or admin.")],
    pin: Annotated[str | None, PIN] = None,
    password: Annotated[str | None, PASSWORD] = None,
) -> Person:
    context = info.context
    return await people_service.create_user(
        context.require_viewer(),
        username,
        full_name,
        role,
        pin=pin,
        password=password,
        surface=context.surface,
    )


async def set_user_active(
    info: Info[Context, None],
    username: Annotated[str, USERNAME],
    active: Annotated[
        bool,
        strawberry.argument(
            description="false: sign-in refused and every session ended now; true: allowed again."
        ),
    ],
) -> Person:
    context = info.context
    return await people_service.set_active(
        context.require_viewer(), username, active, surface=context.surface
    )


async def unlock_user(info: Info[Context, None], username: Annotated[str, USERNAME]) -> Person:
    context = info.context
    return await people_service.unlock(context.require_viewer(), username, surface=context.surface)


async def reset_pin(
    info: Info[Context, None], username: Annotated[str, USERNAME], pin: Annotated[str, PIN]
) -> Person:
    context = info.context
    return await people_service.set_pin(
        context.require_viewer(), username, pin, surface=context.surface
    )


async def set_password(
    info: Info[Context, None],
    username: Annotated[str, USERNAME],
    password: Annotated[str, PASSWORD],
) -> Person:
    context = info.context
    return await people_service.set_password(
        context.require_viewer(), username, password, surface=context.surface
    )


async def enrol_device(
    info: Info[Context, None],
    username: Annotated[str, strawberry.argument(description="The collector's sign-in name.")],
    label: Annotated[
        str,
        strawberry.argument(
            description="Which phone, at most 80 characters (e.g. 'Nokia 6310i de Sophie'); empty: 'téléphone'."
        ),
    ] = "",
    known_devices: Annotated[
        list[int] | None,
        strawberry.argument(
            description="The collector's phones (device numbers) the request was prepared knowing "
            "of. When given and the collector has another phone that may sign in (the same request "
            "sent twice, or another admin enrolling meanwhile), nothing is enrolled and the error "
            "names this argument."
        ),
    ] = None,
) -> NewDevice:
    context = info.context
    return await people_service.enrol_device(
        context.require_viewer(),
        username,
        label,
        known_devices=known_devices,
        surface=context.surface,
    )


async def set_sector(
    info: Info[Context, None],
    name: Annotated[
        str,
        strawberry.argument(
            description="The sector's name, 1 to 80 characters: an existing sector is replaced."
        ),
    ],
    collector: Annotated[
        str | None,
        strawberry.argument(description="The collector's sign-in name; null: no collector."),
    ] = None,
    commune_ids: Annotated[
        list[int] | None,
        strawberry.argument(description="Communes by id (see 'communes')."),
    ] = None,
    commune_names: Annotated[
        list[str] | None,
        strawberry.argument(
            description="Communes by official name; together with communeIds. None of either: no commune."
        ),
    ] = None,
) -> SectorView:
    context = info.context
    return await people_service.set_sector(
        context.require_viewer(),
        name,
        collector,
        commune_ids=commune_ids,
        commune_names=commune_names,
        surface=context.surface,
    )
