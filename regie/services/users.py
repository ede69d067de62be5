"""Managing people: users, their PINs and passwords, enrolled devices, sectors. Admin work."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from regie.db import auth, people, places
from regie.services import credentials
from regie.services.clock import now_utc
from regie.services.sessions import revoke_user_sessions


class UserError(ValueError):
    """An admin request that cannot be carried out; the message says why."""


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
    if not username or not username.replace(".", "").replace("-", "").isalnum():
        raise UserError("a username is made of letters, digits, dots and hyphens")
    if role == people.Role.COLLECTOR and password is not None:
        raise UserError("collectors sign in with a device and a PIN, not a password")
    if role != people.Role.COLLECTOR and pin is not None:
        raise UserError("office staff and admins sign in with a password, not a PIN")
    if pin is not None:
        credentials.check_pin(pin)
    if password is not None:
        credentials.check_password(password)
    try:
        return await people.User.create(
            username=username,
            full_name=full_name.strip(),
            role=role,
            pin_hash=credentials.hash_secret(pin) if pin else None,
            password_hash=credentials.hash_secret(password) if password else None,
        )
    except IntegrityError:
        raise UserError(f"the username {username!r} is taken") from None


async def get_user(username: str) -> people.User:
    user = await people.User.get_or_none(username=username.strip().lower())
    if user is None:
        raise UserError(f"no user {username!r}")
    return user


async def set_pin(username: str, pin: str) -> None:
    user = await get_user(username)
    if user.role != people.Role.COLLECTOR:
        raise UserError("only collectors have a PIN")
    credentials.check_pin(pin)
    await people.User.filter(id=user.id).update(pin_hash=credentials.hash_secret(pin))


async def set_password(username: str, password: str) -> None:
    user = await get_user(username)
    if user.role == people.Role.COLLECTOR:
        raise UserError("collectors have a PIN, not a password")
    credentials.check_password(password)
    await people.User.filter(id=user.id).update(password_hash=credentials.hash_secret(password))


async def unlock(username: str) -> None:
    user = await get_user(username)
    await people.User.filter(id=user.id).update(failed_sign_ins=0, locked_until=None)


async def set_active(username: str, active: bool) -> None:
    user = await get_user(username)
    async with in_transaction():
        await people.User.filter(id=user.id).update(active=active)
        if not active:
            await revoke_user_sessions(user.id)


async def enrol_device(username: str, label: str, secret: str | None = None) -> EnrolledDevice:
    """Enrol a phone for a collector. ``secret`` is for the demo office only; normally drawn at random."""
    user = await get_user(username)
    if user.role != people.Role.COLLECTOR:
        raise UserError("devices are enrolled for collectors")
    secret = (
        credentials.normalise_device_secret(secret) if secret else credentials.new_device_secret()
    )
    if len(secret) < credentials.DEVICE_SECRET_DIGITS:
        raise UserError(f"a device secret has {credentials.DEVICE_SECRET_DIGITS} digits")
    device = await auth.Device.create(
        user_id=user.id,
        label=label.strip() or "téléphone",
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
            raise UserError(f"no enrolled device {device_id}")
        await auth.Session.filter(device_id=device_id, revoked_at=None).update(revoked_at=now_utc())


async def set_sector(
    name: str, collector_username: str | None, commune_names: list[str]
) -> people.Sector:
    """Create or replace a sector: its collector and its communes (by official name)."""
    collector = await get_user(collector_username) if collector_username else None
    if collector is not None and collector.role != people.Role.COLLECTOR:
        raise UserError(f"{collector.username} is not a collector")
    communes = await places.Commune.filter(name__in=commune_names)
    unknown = sorted(set(commune_names) - {c.name for c in communes})
    if unknown:
        raise UserError(f"unknown communes: {', '.join(unknown)}")
    async with in_transaction():
        sector, _ = await people.Sector.get_or_create(name=name.strip())
        sector.collector_id = collector.id if collector else None
        await sector.save()
        await sector.communes.clear()
        if communes:
            await sector.communes.add(*communes)
    return sector
