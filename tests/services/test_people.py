"""The admin services check the viewer first, whatever the surface, and audit what they do."""

from __future__ import annotations

import pytest

from regie.commands.users import TERMINAL
from regie.db import auth
from regie.db.people import Role, User
from regie.services import people
from regie.services.access import AccessDenied, Viewer
from tests.auth import people as make
from tests.conftest import COLLECTOR_PIN

pytestmark = pytest.mark.usefixtures("db")

OFFICE = Viewer.office_wide(user_id=5, role=Role.OFFICE)


async def test_non_admins_are_refused_before_anything_is_read_or_changed() -> None:
    with pytest.raises(AccessDenied):
        await people.create_user(
            OFFICE, "smarty", "Sophie Marty", Role.COLLECTOR, pin=COLLECTOR_PIN, surface="graphql"
        )
    with pytest.raises(AccessDenied):
        await people.list_users(OFFICE)
    assert not await User.filter(username="smarty").exists()
    event = await auth.AuditEvent.get(action="admin.create-user")
    assert (event.actor, event.outcome, event.detail) == ("user:5", "denied", "")


async def test_the_terminal_acts_as_an_admin_audited_as_the_cli() -> None:
    await make.collector("jldelmas", "Moissac")
    enrolled = await people.enrol_device(TERMINAL, "jldelmas", "Nokia", surface="cli")
    assert len(enrolled.secret) == 20
    event = await auth.AuditEvent.get(action="admin.enrol-device")
    assert (event.actor, event.surface, event.outcome) == ("client:cli", "cli", "ok")
    assert enrolled.secret not in event.detail


async def test_a_collector_needs_a_pin_and_office_staff_a_password() -> None:
    with pytest.raises(people.UserError) as no_pin:
        await people.create_user(TERMINAL, "smarty", "Sophie", Role.COLLECTOR, surface="cli")
    assert no_pin.value.argument == "pin"
    with pytest.raises(people.UserError) as no_password:
        await people.create_user(TERMINAL, "claude", "Claude", Role.OFFICE, surface="cli")
    assert no_password.value.argument == "password"
