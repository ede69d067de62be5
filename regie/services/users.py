"""Managing people: users, their PINs and passwords, enrolled devices, sectors.

These are the unchecked primitives (the demo generator and test fixtures set people up with them).
A person acting — an admin on GraphQL, on the office desk or at the terminal — goes through
:mod:`regie.services.people`, which checks the ``admin`` scope and writes the audit log first.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from regie.db import auth, people, places
from regie.services import credentials
from regie.services.clock import now_utc
from regie.services.sessions import revoke_user_sessions

USERNAME_MAX_LENGTH = 60
FULL_NAME_MAX_LENGTH = 120
DEVICE_LABEL_MAX_LENGTH = 80
SECTOR_NAME_MAX_LENGTH = 80


class UserError(ValueError):
    """An admin request that cannot be carried out; the message says why.

    ``argument`` names what was wrong, in the GraphQL argument's spelling (``username``, ``pin``,
    ``collector`` …), or is ``None`` when no single argument is to blame.
    """

    def __init__(self, message: str, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


def _check_pin(pin: str) -> None:
    try:
        credentials.check_pin(pin)
    except credentials.WeakSecret as weak:
        raise UserError(str(weak), "pin") from None


def _check_password(password: str) -> None:
    try:
        credentials.check_password(password)
    except credentials.WeakSecret as weak:
        raise UserError(str(weak), "password") from None


@dataclass(frozen=True)
class EnrolledDevice:
    device_id: int
    secret: str
    """Shown once to the admin, who hands it to the collector; never stored in clear."""


async def create_user(
    username: str,
    full_name: str,
    role: people.Role,
    *,
    password: str | None = None,
    pin: str | None = None,
) -> people.User:
    username = username.strip().lower()
    if (
        not username
        or len(username) > USERNAME_MAX_LENGTH
        or not username.replace(".", "").replace("-", "").isalnum()
    ):
        raise UserError(
            f"a username is 1 to {USERNAME_MAX_LENGTH} letters, digits, dots and hyphens",
            "username",
        )
    full_name = full_name.strip()
    if not full_name or len(full_name) > FULL_NAME_MAX_LENGTH:
        raise UserError(f"a full name has 1 to {FULL_NAME_MAX_LENGTH} characters", "fullName")
    if role == people.Role.COLLECTOR and password is not None:
        raise UserError("collectors sign in with a device and a PIN, not a password", "password")
    if role != people.Role.COLLECTOR and pin is not None:
        raise UserError("office staff and admins sign in with a password, not a PIN", "pin")
    if pin is not None:
        _check_pin(pin)
    if password is not None:
        _check_password(password)
    try:
        return await people.User.create(
            username=username,
            full_name=full_name,
            role=role,
            pin_hash=credentials.hash_secret(pin) if pin else None,
            password_hash=credentials.hash_secret(password) if password else None,
        )
    except IntegrityError:
        raise UserError(f"the username {username!r} is taken", "username") from None


async def get_user(username: str, argument: str = "username") -> people.User:
    user = await people.User.get_or_none(username=username.strip().lower())
    if user is None:
        raise UserError(f"no user {username!r}", argument)
    return user


async def set_pin(username: str, pin: str) -> None:
    user = await get_user(username)
    if user.role != people.Role.COLLECTOR:
        raise UserError("only collectors have a PIN", "username")
    _check_pin(pin)
    # A new secret usually follows a suspected leak: whoever signed in with the old one is out.
    async with in_transaction():
        await people.User.filter(id=user.id).update(pin_hash=credentials.hash_secret(pin))
        await revoke_user_sessions(user.id)


async def set_password(username: str, password: str) -> None:
    user = await get_user(username)
    if user.role == people.Role.COLLECTOR:
        raise UserError("collectors have a PIN, not a password", "username")
    _check_password(password)
    async with in_transaction():  # as for a PIN: the sessions opened with the old one end
        await people.User.filter(id=user.id).update(password_hash=credentials.hash_secret(password))
        await revoke_user_sessions(user.id)


async def unlock(username: str) -> None:
    user = await get_user(username)
    await people.User.filter(id=user.id).update(failed_sign_ins=0, locked_until=None)


async def set_active(username: str, active: bool) -> None:
    user = await get_user(username)
    async with in_transaction():
        await people.User.filter(id=user.id).update(active=active)
        if not active:
            await revoke_user_sessions(user.id)


async def enrol_device(
    username: str,
    label: str,
    secret: str | None = None,
    *,
    known_devices: Collection[int] | None = None,
) -> EnrolledDevice:
    """Enrol a phone for a collector. ``secret`` is for the demo office only; normally drawn at random.

    ``known_devices``, when given, are the collector's phones the request was made knowing of:
    if another one may sign in now (the same form sent twice, by a reload of its answer or a
    double click; or another admin enrolling meanwhile), nothing is enrolled. A phone whose
    secret was shown to nobody would otherwise stay able to sign in."""
    user = await get_user(username)
    if user.role != people.Role.COLLECTOR:
        raise UserError("devices are enrolled for collectors", "username")
    label = label.strip()
    if len(label) > DEVICE_LABEL_MAX_LENGTH:
        raise UserError(f"a device label has at most {DEVICE_LABEL_MAX_LENGTH} characters", "label")
    secret = (
        credentials.normalise_device_secret(secret) if secret else credentials.new_device_secret()
    )
    if len(secret) < credentials.DEVICE_SECRET_DIGITS:
        raise UserError(f"a device secret has {credentials.DEVICE_SECRET_DIGITS} digits", "secret")
    async with in_transaction():
        if known_devices is not None:
            # The collector's row locked (PostgreSQL; SQLite runs one write at a time): two
            # sendings of the same form cannot both find no new phone.
            await people.User.filter(id=user.id).select_for_update().first()
            active = await auth.Device.filter(user_id=user.id, revoked_at=None).values_list(
                "id", flat=True
            )
            unknown = sorted(set(active) - set(known_devices))
            if unknown:
                raise UserError(
                    f"{user.username} has a phone enrolled since the request was prepared "
                    f"(device {unknown[-1]}): no other one was enrolled",
                    "knownDevices",
                )
        device = await auth.Device.create(
            user_id=user.id,
            label=label or "téléphone",
            secret_hash=credentials.digest(secret),
            enrolled_at=now_utc(),
        )
    return EnrolledDevice(device.id, secret)


async def revoke_device(device_id: int) -> None:
    """A lost phone: the device no longer signs in, and its sessions end now."""
    async with in_transaction():
        updated = await auth.Device.filter(id=device_id, revoked_at=None).update(
            revoked_at=now_utc()
        )
        if updated != 1:
            raise UserError(f"no enrolled device {device_id}", "deviceId")
        await auth.Session.filter(device_id=device_id, revoked_at=None).update(revoked_at=now_utc())


async def set_sector(
    name: str,
    collector_username: str | None,
    commune_names: list[str],
    *,
    commune_ids: list[int] | None = None,
) -> people.Sector:
    """Create or replace a sector: its collector and its communes (by official name or by id)."""
    name = name.strip()
    if not name or len(name) > SECTOR_NAME_MAX_LENGTH:
        raise UserError(f"a sector name has 1 to {SECTOR_NAME_MAX_LENGTH} characters", "name")
    collector = await get_user(collector_username, "collector") if collector_username else None
    if collector is not None and collector.role != people.Role.COLLECTOR:
        raise UserError(f"{collector.username} is not a collector", "collector")
    communes = await places.Commune.filter(name__in=commune_names) if commune_names else []
    unknown = sorted(set(commune_names) - {c.name for c in communes})
    if unknown:
        raise UserError(f"unknown communes: {', '.join(unknown)}", "communeNames")
    if commune_ids:
        by_id = await places.Commune.filter(id__in=commune_ids)
        missing = sorted(set(commune_ids) - {c.id for c in by_id})
        if missing:
            raise UserError(f"unknown commune ids: {', '.join(map(str, missing))}", "communeIds")
        known = {c.id for c in communes}
        communes = [*communes, *(c for c in by_id if c.id not in known)]
    async with in_transaction():
        sector, _ = await people.Sector.get_or_create(name=name)
        sector.collector_id = collector.id if collector else None
        await sector.save()
        await sector.communes.clear()
        if communes:
            await sector.communes.add(*communes)
    return sector
