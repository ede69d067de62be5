"""Admin work on people, checked and audited: users, their secrets and phones, sectors.

Every function takes the viewer first and refuses (:class:`AccessDenied`) unless it holds the
``admin`` scope. Each change is written to the audit log at once — ``ok`` when done, ``denied``
when refused — naming the user, device or sector by id, never a PIN, password or device secret.
GraphQL (and through it the office desk) and the ``regie users`` command come through here; the
unchecked primitives are in :mod:`regie.services.users`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from regie.db import auth, people, places
from regie.services import audit, sessions, users
from regie.services.access import AccessDenied, Viewer, require_admin
from regie.services.clock import now_utc
from regie.services.users import EnrolledDevice, UserError

__all__ = ["EnrolledDevice", "NewDevice", "Person", "SectorView", "UserError"]


@dataclass(frozen=True)
class Person:
    """A user as admins see them: state, phones and sectors. Never a secret or its hash."""

    id: int
    username: str
    full_name: str
    role: people.Role
    active: bool
    locked: bool
    """Sign-in refused now after too many failures (until ``locked_until`` or an admin unlocks)."""
    locked_until: datetime | None
    """When a temporary hold ends (UTC); ``None`` when not locked or until an admin unlocks."""
    failed_sign_ins: int
    created_at: datetime
    devices: list[auth.Device]
    """Enrolled phones, revoked ones too, oldest first."""
    sector_names: list[str]


@dataclass(frozen=True)
class SectorView:
    id: int
    name: str
    collector: Person | None
    communes: list[places.Commune]
    """By name."""


@dataclass(frozen=True)
class NewDevice:
    device: auth.Device
    username: str
    secret: str
    """The 20 digits the collector types; returned once, stored only as a digest."""


async def _checked(viewer: Viewer, action: str, surface: str) -> None:
    """Refuse non-admins, and write the refusal to the audit log."""
    try:
        require_admin(viewer)
    except AccessDenied:
        await audit.record(viewer, surface, action, outcome=audit.DENIED)
        raise


async def _done(viewer: Viewer, surface: str, action: str, detail: str) -> None:
    await audit.record(viewer, surface, action, detail=detail)


async def _persons(rows: list[people.User]) -> list[Person]:
    """Persons of ``rows``, their phones and sectors in two more queries."""
    ids = [row.id for row in rows]
    devices: dict[int, list[auth.Device]] = defaultdict(list)
    sectors: dict[int, list[str]] = defaultdict(list)
    if ids:
        for device in await auth.Device.filter(user_id__in=ids).order_by("enrolled_at", "id"):
            devices[device.user_id].append(device)
        for sector in await people.Sector.filter(collector_id__in=ids).order_by("name"):
            sectors[cast(int, sector.collector_id)].append(sector.name)
    now = now_utc()
    persons = []
    for row in rows:
        locked = row.locked_until is not None and row.locked_until > now
        until = (
            row.locked_until
            if locked and row.locked_until != sessions.LOCKED_UNTIL_UNLOCKED
            else None
        )
        persons.append(
            Person(
                id=row.id,
                username=row.username,
                full_name=row.full_name,
                role=row.role,
                active=row.active,
                locked=locked,
                locked_until=until,
                failed_sign_ins=row.failed_sign_ins,
                created_at=row.created_at,
                devices=devices[row.id],
                sector_names=sectors[row.id],
            )
        )
    return persons


async def _person(user_id: int) -> Person:
    return (await _persons([await people.User.get(id=user_id)]))[0]


# Reading


async def list_users(viewer: Viewer, role: people.Role | None = None) -> list[Person]:
    """Every user (or those of ``role``): collectors first, then office staff, then admins; by name."""
    require_admin(viewer)
    query = people.User.all() if role is None else people.User.filter(role=role)
    order = {people.Role.COLLECTOR: 0, people.Role.OFFICE: 1, people.Role.ADMIN: 2}
    rows = sorted(await query, key=lambda u: (order[u.role], u.full_name.casefold(), u.username))
    return await _persons(rows)


async def list_sectors(viewer: Viewer) -> list[SectorView]:
    """Every sector by name, with its collector and communes (a fixed number of queries)."""
    require_admin(viewer)
    rows = await people.Sector.all().order_by("name")
    collector_ids = sorted({s.collector_id for s in rows if s.collector_id is not None})
    collectors = (
        {p.id: p for p in await _persons(await people.User.filter(id__in=collector_ids))}
        if collector_ids
        else {}
    )
    links = cast(
        list[tuple[int, int | None]],
        await people.Sector.all().values_list("id", "communes__id"),
    )
    commune_ids = {c for _, c in links if c is not None}
    communes = (
        {c.id: c for c in await places.Commune.filter(id__in=commune_ids)} if commune_ids else {}
    )
    by_sector: dict[int, list[places.Commune]] = defaultdict(list)
    for sector_id, commune_id in links:
        if commune_id is not None:
            by_sector[sector_id].append(communes[commune_id])
    return [
        SectorView(
            id=s.id,
            name=s.name,
            collector=collectors.get(s.collector_id) if s.collector_id is not None else None,
            communes=sorted(by_sector[s.id], key=lambda c: (c.name, c.postal_code)),
        )
        for s in rows
    ]


async def list_communes(viewer: Viewer) -> list[places.Commune]:
    """Every commune of the housing stock, by name (what a sector may hold)."""
    require_admin(viewer)
    return await places.Commune.all().order_by("name", "postal_code")


# Changing


async def create_user(
    viewer: Viewer,
    username: str,
    full_name: str,
    role: people.Role,
    *,
    pin: str | None = None,
    password: str | None = None,
    surface: str,
) -> Person:
    """A collector needs a PIN (then a phone: :func:`enrol_device`); others need a password."""
    action = "admin.create-user"
    await _checked(viewer, action, surface)
    if role == people.Role.COLLECTOR and not pin:
        raise UserError("a collector needs a PIN of at least 6 digits", "pin")
    if role != people.Role.COLLECTOR and not password:
        raise UserError(
            "office staff and admins need a password of at least 12 characters", "password"
        )
    user = await users.create_user(username, full_name, role, pin=pin, password=password)
    await _done(viewer, surface, action, f"user:{user.id} {user.username} ({role.value})")
    return await _person(user.id)


async def set_active(viewer: Viewer, username: str, active: bool, *, surface: str) -> Person:
    """Deactivating forbids sign-in and ends every session at once; an admin cannot lock themselves out."""
    action = "admin.activate-user" if active else "admin.deactivate-user"
    await _checked(viewer, action, surface)
    user = await users.get_user(username)
    if not active and user.id == viewer.user_id:
        raise UserError("you may not deactivate your own account", "username")
    await users.set_active(user.username, active)
    await _done(viewer, surface, action, f"user:{user.id}")
    return await _person(user.id)


async def unlock(viewer: Viewer, username: str, *, surface: str) -> Person:
    """Clear the failed sign-ins and the lock."""
    action = "admin.unlock-user"
    await _checked(viewer, action, surface)
    user = await users.get_user(username)
    await users.unlock(user.username)
    await _done(viewer, surface, action, f"user:{user.id}")
    return await _person(user.id)


async def set_pin(viewer: Viewer, username: str, pin: str, *, surface: str) -> Person:
    action = "admin.set-pin"
    await _checked(viewer, action, surface)
    user = await users.get_user(username)
    await users.set_pin(user.username, pin)
    await _done(viewer, surface, action, f"user:{user.id}")
    return await _person(user.id)


async def set_password(viewer: Viewer, username: str, password: str, *, surface: str) -> Person:
    action = "admin.set-password"
    await _checked(viewer, action, surface)
    user = await users.get_user(username)
    await users.set_password(user.username, password)
    await _done(viewer, surface, action, f"user:{user.id}")
    return await _person(user.id)


async def enrol_device(
    viewer: Viewer,
    username: str,
    label: str,
    *,
    known_devices: Collection[int] | None = None,
    surface: str,
) -> NewDevice:
    """A new phone for a collector; its secret is drawn at random and returned only here. With
    ``known_devices``, only if the collector has no other phone than those (see
    :func:`regie.services.users.enrol_device`)."""
    action = "admin.enrol-device"
    await _checked(viewer, action, surface)
    user = await users.get_user(username)
    enrolled = await users.enrol_device(user.username, label, known_devices=known_devices)
    await _done(viewer, surface, action, f"user:{user.id}, device {enrolled.device_id}")
    device = await auth.Device.get(id=enrolled.device_id)
    return NewDevice(device, user.username, enrolled.secret)


async def revoke_device(viewer: Viewer, device_id: int, *, surface: str) -> auth.Device:
    """A lost phone: it no longer signs in, and its sessions end now."""
    action = "admin.revoke-device"
    await _checked(viewer, action, surface)
    await users.revoke_device(device_id)
    device = await auth.Device.get(id=device_id)
    await _done(viewer, surface, action, f"device {device_id} of user:{device.user_id}")
    return device


async def revoke_sessions(viewer: Viewer, username: str, *, surface: str) -> int:
    """End every session of a user now. Returns how many were live."""
    action = "admin.revoke-sessions"
    await _checked(viewer, action, surface)
    user = await users.get_user(username)
    count = await sessions.revoke_user_sessions(user.id)
    await _done(viewer, surface, action, f"user:{user.id}, {count} sessions")
    return count


async def set_sector(
    viewer: Viewer,
    name: str,
    collector_username: str | None,
    *,
    commune_ids: list[int] | None = None,
    commune_names: list[str] | None = None,
    surface: str,
) -> SectorView:
    """Create or replace the sector called ``name``: its collector (or none) and its communes."""
    action = "admin.set-sector"
    await _checked(viewer, action, surface)
    sector = await users.set_sector(
        name, collector_username or None, commune_names or [], commune_ids=commune_ids
    )
    communes = await sector.communes.all().count()
    collector = f"user:{sector.collector_id}" if sector.collector_id is not None else "none"
    await _done(
        viewer,
        surface,
        action,
        f"sector {sector.id} {sector.name[:80]}: collector {collector}, {communes} communes",
    )
    return next(s for s in await list_sectors(viewer) if s.id == sector.id)
