"""GraphQL of admin work on people: users, their secrets and enrolled phones, sectors (admins only)."""

# Resolver fields return service dataclasses or ORM rows that Strawberry reads the GraphQL type from.
# mypy: disable-error-code="assignment"

from __future__ import annotations

from datetime import datetime

import strawberry

from regie.db.people import Role
from regie.resolvers import people as resolve
from regie.schema.places import Commune


@strawberry.type(description="A phone an admin enrolled for a collector.")
class Device:
    id: int = strawberry.field(description="The device's number (what revokeDevice takes).")
    label: str = strawberry.field(description="Which phone, as the admin named it.")
    enrolled_at: datetime = strawberry.field(description="When it was enrolled (UTC).")
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked (UTC); null while it may sign in."
    )
    last_used_at: datetime | None = strawberry.field(
        description="Its latest successful sign-in (UTC); null if never used."
    )
    active: bool = strawberry.field(
        resolver=resolve.device_active, description="Not revoked: it may sign in."
    )


@strawberry.type(description="A person who signs in: collector, office staff or admin. No secret.")
class User:
    username: str = strawberry.field(description="Sign-in name.")
    full_name: str = strawberry.field(description="Name as shown to colleagues.")
    role: Role = strawberry.field(description="Collector, office staff or admin.")
    active: bool = strawberry.field(description="false: deactivated, sign-in refused.")
    locked: bool = strawberry.field(
        description="Sign-in refused now after too many failures, until lockedUntil or an unlock."
    )
    locked_until: datetime | None = strawberry.field(
        description="When a temporary hold ends (UTC); null when not locked or until an admin unlocks."
    )
    failed_sign_ins: int = strawberry.field(description="Consecutive failed sign-ins.")
    created_at: datetime = strawberry.field(description="When the account was created (UTC).")
    devices: list[Device] = strawberry.field(
        description="Enrolled phones (collectors), revoked ones too, oldest first."
    )
    sector_names: list[str] = strawberry.field(
        description="The sectors this collector works, by name."
    )


@strawberry.type(description="A set of communes worked by one collector.")
class Sector:
    id: int = strawberry.field(description="The sector's number.")
    name: str = strawberry.field(description="The sector's name (unique).")
    collector: User | None = strawberry.field(description="Its collector; null when unassigned.")
    communes: list[Commune] = strawberry.field(
        description="Its communes, by name: their tenants are the collector's."
    )


@strawberry.type(description="A phone just enrolled, with its secret: shown in this answer only.")
class EnrolledDevice:
    device: Device = strawberry.field(description="The new device.")
    username: str = strawberry.field(description="The collector it was enrolled for.")
    secret: str = strawberry.field(
        description="The 20 digits the collector types at sign-in. Returned once, never again "
        "(only a digest is stored): hand it to the collector."
    )


@strawberry.type
class PeopleQuery:
    users: list[User] = strawberry.field(
        resolver=resolve.users,
        description="Admins only: every user, collectors first, then office staff, then admins.",
    )
    sectors: list[Sector] = strawberry.field(
        resolver=resolve.sectors,
        description="Admins only: every sector by name, with its collector and communes.",
    )
    communes: list[Commune] = strawberry.field(
        resolver=resolve.communes,
        description="Admins only: every commune of the housing stock, by name (for sectors).",
    )


@strawberry.type
class PeopleMutation:
    create_user: User = strawberry.field(
        resolver=resolve.create_user,
        description="Admins only: a new user. Collectors need a PIN (then a phone), others a password.",
    )
    set_user_active: User = strawberry.field(
        resolver=resolve.set_user_active,
        description="Admins only: deactivate (sign-in refused, sessions ended) or reactivate a user.",
    )
    unlock_user: User = strawberry.field(
        resolver=resolve.unlock_user,
        description="Admins only: clear a user's failed sign-ins and lock.",
    )
    reset_pin: User = strawberry.field(
        resolver=resolve.reset_pin, description="Admins only: give a collector a new PIN."
    )
    set_password: User = strawberry.field(
        resolver=resolve.set_password,
        description="Admins only: give office staff or an admin a new password.",
    )
    enrol_device: EnrolledDevice = strawberry.field(
        resolver=resolve.enrol_device,
        description="Admins only: enrol a phone for a collector. The answer holds its secret, once.",
    )
    set_sector: Sector = strawberry.field(
        resolver=resolve.set_sector,
        description="Admins only: create or replace a sector: its collector and communes.",
    )
