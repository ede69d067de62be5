"""People for access-control tests: a collector of Moissac with an enrolled phone, office staff, an admin."""

from __future__ import annotations

from regie.db.people import Role, User
from regie.services import users
from tests import factories
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET, OFFICE_PASSWORD


async def collector(username: str = "jldelmas", commune: str = "Moissac") -> User:
    user = await users.create_user(username, "Jean-Luc Delmas", Role.COLLECTOR, pin=COLLECTOR_PIN)
    await factories.commune(commune)
    await users.set_sector(f"Secteur {username}", username, [commune])
    await users.enrol_device(username, "Nokia 7110", secret=DEVICE_SECRET)
    return user


async def office(username: str = "claire", role: Role = Role.OFFICE) -> User:
    return await users.create_user(username, username.title(), role, password=OFFICE_PASSWORD)
