"""Admin work on people through GraphQL: users, PINs and passwords, phones, sectors (admins only)."""

from __future__ import annotations

from typing import Any

import pytest

from regie.context import Context
from regie.db import auth
from regie.db.people import Role, User
from regie.schema.schema import schema
from regie.services import sessions
from regie.services.access import ROLE_SCOPES, Viewer
from regie.services.sessions import SignInRefused
from tests import factories
from tests.auth import people as make
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET, OFFICE_PASSWORD

pytestmark = pytest.mark.usefixtures("db")

USERS = """
query { users {
  username fullName role active locked lockedUntil failedSignIns sectorNames
  devices { id label active revokedAt }
} }
"""
SECTORS = "{ sectors { name collector { username } communes { name postalCode } } }"
COMMUNES = "{ communes { id name postalCode } }"
CREATE = """
mutation C($u: String!, $n: String!, $r: Role!, $pin: String, $pw: String) {
  createUser(username: $u, fullName: $n, role: $r, pin: $pin, password: $pw) { username role active }
}
"""
ENROL = """
mutation E($u: String!, $l: String!) {
  enrolDevice(username: $u, label: $l) { username secret device { id label active enrolledAt } }
}
"""
ENROL_KNOWING = """
mutation E($u: String!, $l: String!, $known: [Int!]) {
  enrolDevice(username: $u, label: $l, knownDevices: $known) { device { id } }
}
"""
REVOKE = "mutation R($id: Int!) { revokeDevice(deviceId: $id) }"
SET_SECTOR = """
mutation S($name: String!, $c: String, $ids: [Int!], $names: [String!]) {
  setSector(name: $name, collector: $c, communeIds: $ids, communeNames: $names) {
    name collector { username } communes { name }
  }
}
"""
SET_ACTIVE = (
    "mutation A($u: String!, $a: Boolean!) { setUserActive(username: $u, active: $a) { active } }"
)
UNLOCK = "mutation U($u: String!) { unlockUser(username: $u) { locked failedSignIns } }"
RESET_PIN = "mutation P($u: String!, $p: String!) { resetPin(username: $u, pin: $p) { username } }"
SET_PASSWORD = (
    "mutation W($u: String!, $p: String!) { setPassword(username: $u, password: $p) { username } }"
)

NEW_PIN = "739184"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def admin() -> Viewer:
    user = await make.office("adele", Role.ADMIN)
    return Viewer.office_wide(user_id=user.id, role=Role.ADMIN)


async def run(viewer: Viewer | None, document: str, **variables: Any) -> Any:
    return await schema.execute(
        document, variable_values=variables, context_value=Context(viewer=viewer)
    )


def data_of(result: Any) -> Any:
    assert result.errors is None, result.errors
    return result.data


def error_of(result: Any) -> dict[str, Any]:
    assert result.errors, result.data
    return {"message": result.errors[0].message, **(result.errors[0].extensions or {})}


async def test_admins_list_users_with_their_phones_and_sectors(admin: Viewer) -> None:
    await make.collector("jldelmas", "Moissac")
    await make.office("claire")
    users = data_of(await run(admin, USERS))["users"]
    assert [(u["username"], u["role"]) for u in users] == [
        ("jldelmas", "COLLECTOR"),
        ("claire", "OFFICE"),
        ("adele", "ADMIN"),
    ]
    collector = users[0]
    assert collector["sectorNames"] == ["Secteur jldelmas"]
    assert [(d["label"], d["active"]) for d in collector["devices"]] == [("Nokia 7110", True)]
    assert (collector["active"], collector["locked"], collector["failedSignIns"]) == (
        True,
        False,
        0,
    )


async def test_admins_list_sectors_and_communes(admin: Viewer) -> None:
    await make.collector("jldelmas", "Moissac")
    await factories.commune("Albias", "82350")
    sectors = data_of(await run(admin, SECTORS))["sectors"]
    assert sectors == [
        {
            "name": "Secteur jldelmas",
            "collector": {"username": "jldelmas"},
            "communes": [{"name": "Moissac", "postalCode": "82000"}],
        }
    ]
    communes = data_of(await run(admin, COMMUNES))["communes"]
    assert [c["name"] for c in communes] == ["Albias", "Moissac"]
    assert all(isinstance(c["id"], int) for c in communes)


async def test_a_new_collector_gets_a_phone_whose_secret_is_shown_once(admin: Viewer) -> None:
    created = data_of(
        await run(admin, CREATE, u="SMarty", n="Sophie Marty", r="COLLECTOR", pin=COLLECTOR_PIN)
    )
    assert created["createUser"] == {"username": "smarty", "role": "COLLECTOR", "active": True}
    enrolled = data_of(await run(admin, ENROL, u="smarty", l="Nokia 6310i"))["enrolDevice"]
    secret = enrolled["secret"]
    assert len(secret) == 20 and secret.isdigit()
    assert enrolled["device"]["label"] == "Nokia 6310i" and enrolled["device"]["active"]
    opened = await sessions.sign_in_collector("smarty", secret, COLLECTOR_PIN, "html")
    assert opened.token
    # Only a digest is stored; the listing never shows the secret again.
    device = await auth.Device.get(id=enrolled["device"]["id"])
    assert secret not in device.secret_hash
    assert "secret" not in USERS


async def test_a_request_sent_twice_enrols_one_phone(admin: Viewer) -> None:
    await make.collector("jldelmas", "Moissac")  # enrolled with one phone already
    first_phone = await auth.Device.get(label="Nokia 7110")
    known = [first_phone.id]
    enrolled = data_of(await run(admin, ENROL_KNOWING, u="jldelmas", l="Nokia", known=known))
    # The same request again (a reload of its answer): the new phone was not known to it.
    again = await run(admin, ENROL_KNOWING, u="jldelmas", l="Nokia", known=known)
    assert again.errors is not None
    extensions = again.errors[0].extensions or {}
    assert (extensions.get("code"), extensions.get("argument")) == (
        "BAD_USER_INPUT",
        "knownDevices",
    )
    phones = await auth.Device.filter(user__username="jldelmas").values_list("id", flat=True)
    assert sorted(phones) == [first_phone.id, enrolled["enrolDevice"]["device"]["id"]]
    # Knowing of both, or of a revoked one no more: a third phone is enrolled.
    await run(admin, REVOKE, id=first_phone.id)
    known = [enrolled["enrolDevice"]["device"]["id"]]
    assert data_of(await run(admin, ENROL_KNOWING, u="jldelmas", l="Nokia 2", known=known))
    # Without the argument, as before: no check.
    assert data_of(await run(admin, ENROL, u="jldelmas", l="Nokia 3"))
    assert await auth.Device.filter(user__username="jldelmas").count() == 4


async def test_a_revoked_phone_no_longer_signs_in(admin: Viewer) -> None:
    await make.collector("jldelmas", "Moissac")
    opened = await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, COLLECTOR_PIN, "wml")
    device = await auth.Device.get(label="Nokia 7110")
    assert data_of(await run(admin, REVOKE, id=device.id)) == {"revokeDevice": True}
    assert await sessions.viewer_for_session(opened.token, "wml") is None
    with pytest.raises(SignInRefused):
        await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, COLLECTOR_PIN, "wml")
    users = data_of(await run(admin, USERS))["users"]
    assert users[0]["devices"][0]["active"] is False and users[0]["devices"][0]["revokedAt"]


async def test_set_sector_by_commune_ids_or_names(admin: Viewer) -> None:
    await make.collector("jldelmas", "Moissac")
    albias = await factories.commune("Albias", "82350")
    await factories.commune("Caussade", "82300")
    by_ids = await run(admin, SET_SECTOR, name="Lomagne", c="jldelmas", ids=[albias.id])
    assert data_of(by_ids)["setSector"] == {
        "name": "Lomagne",
        "collector": {"username": "jldelmas"},
        "communes": [{"name": "Albias"}],
    }
    by_names = await run(admin, SET_SECTOR, name="Lomagne", names=["Caussade", "Moissac"])
    assert data_of(by_names)["setSector"] == {
        "name": "Lomagne",
        "collector": None,
        "communes": [{"name": "Caussade"}, {"name": "Moissac"}],
    }


async def test_deactivating_ends_sessions_and_reactivating_allows_sign_in(admin: Viewer) -> None:
    await make.office("claire")
    opened = await sessions.sign_in_office("claire", OFFICE_PASSWORD)
    assert data_of(await run(admin, SET_ACTIVE, u="claire", a=False)) == {
        "setUserActive": {"active": False}
    }
    assert await sessions.viewer_for_session(opened.token, "html") is None
    with pytest.raises(SignInRefused):
        await sessions.sign_in_office("claire", OFFICE_PASSWORD)
    data_of(await run(admin, SET_ACTIVE, u="claire", a=True))
    assert (await sessions.sign_in_office("claire", OFFICE_PASSWORD)).token


async def test_unlock_and_new_secrets(admin: Viewer) -> None:
    await make.collector("jldelmas", "Moissac")
    await make.office("claire")
    for _ in range(3):
        with pytest.raises(SignInRefused):
            await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, "000000", "html")
    locked = data_of(await run(admin, USERS))["users"][0]
    assert locked["locked"] is True and locked["lockedUntil"] is None  # until an admin unlocks
    assert data_of(await run(admin, UNLOCK, u="jldelmas")) == {
        "unlockUser": {"locked": False, "failedSignIns": 0}
    }
    data_of(await run(admin, RESET_PIN, u="jldelmas", p=NEW_PIN))
    assert await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, NEW_PIN, "html")
    data_of(await run(admin, SET_PASSWORD, u="claire", p=NEW_PASSWORD))
    assert await sessions.sign_in_office("claire", NEW_PASSWORD)


async def test_every_admin_change_is_audited_without_secrets(admin: Viewer) -> None:
    await make.office("claire")
    await run(admin, CREATE, u="smarty", n="Sophie Marty", r="COLLECTOR", pin=COLLECTOR_PIN)
    enrolled = data_of(await run(admin, ENROL, u="smarty", l="Nokia"))["enrolDevice"]
    await run(admin, REVOKE, id=enrolled["device"]["id"])
    await run(admin, RESET_PIN, u="smarty", p=NEW_PIN)
    await run(admin, SET_PASSWORD, u="claire", p=NEW_PASSWORD)
    await run(admin, UNLOCK, u="claire")
    await run(admin, SET_ACTIVE, u="claire", a=False)
    await run(admin, SET_SECTOR, name="Nord", c="smarty")
    events = await auth.AuditEvent.filter(action__startswith="admin.").order_by("id")
    assert [e.action for e in events] == [
        "admin.create-user",
        "admin.enrol-device",
        "admin.revoke-device",
        "admin.set-pin",
        "admin.set-password",
        "admin.unlock-user",
        "admin.deactivate-user",
        "admin.set-sector",
    ]
    smarty = await User.get(username="smarty")
    assert all(e.actor == admin.label and e.outcome == "ok" for e in events)
    assert f"user:{smarty.id}" in events[0].detail
    for event in events:
        for secret in (COLLECTOR_PIN, NEW_PIN, NEW_PASSWORD, enrolled["secret"]):
            assert secret not in event.detail


OFFICE = Viewer.office_wide(user_id=2, role=Role.OFFICE)
COLLECTOR = Viewer(
    user_id=3, role=Role.COLLECTOR, commune_ids=frozenset(), scopes=ROLE_SCOPES[Role.COLLECTOR]
)
REFUSED_DOCUMENTS = [
    (USERS, {}),
    (SECTORS, {}),
    (COMMUNES, {}),
    (CREATE, {"u": "x", "n": "X", "r": "ADMIN", "pw": NEW_PASSWORD}),
    (ENROL, {"u": "jldelmas", "l": "x"}),
    (REVOKE, {"id": 1}),
    (SET_SECTOR, {"name": "Nord"}),
    (SET_ACTIVE, {"u": "jldelmas", "a": False}),
    (UNLOCK, {"u": "jldelmas"}),
    (RESET_PIN, {"u": "jldelmas", "p": NEW_PIN}),
    (SET_PASSWORD, {"u": "jldelmas", "p": NEW_PASSWORD}),
]


@pytest.mark.parametrize("viewer", [OFFICE, COLLECTOR], ids=["office", "collector"])
@pytest.mark.parametrize(("document", "variables"), REFUSED_DOCUMENTS)
async def test_office_staff_and_collectors_are_refused(
    viewer: Viewer, document: str, variables: dict[str, Any]
) -> None:
    await make.collector("jldelmas", "Moissac")
    error = error_of(await run(viewer, document, **variables))
    assert error == {"message": "Not allowed.", "code": "FORBIDDEN"}
    assert await auth.Device.filter(revoked_at=None).count() == 1
    assert not await User.filter(username="x").exists()


async def test_a_refused_change_is_audited_as_denied() -> None:
    await make.collector("jldelmas", "Moissac")
    await run(OFFICE, SET_ACTIVE, u="jldelmas", a=False)
    event = await auth.AuditEvent.get(action="admin.deactivate-user")
    assert (event.actor, event.outcome) == ("user:2", "denied")
    assert (await User.get(username="jldelmas")).active


async def test_anonymous_requests_must_sign_in() -> None:
    assert error_of(await run(None, USERS))["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("document", "variables", "argument"),
    [
        (CREATE, {"u": "smarty", "n": "Sophie", "r": "COLLECTOR", "pin": "123456"}, "pin"),
        (CREATE, {"u": "smarty", "n": "Sophie", "r": "COLLECTOR"}, "pin"),
        (CREATE, {"u": "claude", "n": "Claude", "r": "OFFICE", "pw": "short"}, "password"),
        (CREATE, {"u": "jldelmas", "n": "Homonyme", "r": "COLLECTOR", "pin": NEW_PIN}, "username"),
        (CREATE, {"u": "jl delmas", "n": "J", "r": "COLLECTOR", "pin": NEW_PIN}, "username"),
        (CREATE, {"u": "x" * 61, "n": "J", "r": "COLLECTOR", "pin": NEW_PIN}, "username"),
        (CREATE, {"u": "anon", "n": "  ", "r": "COLLECTOR", "pin": NEW_PIN}, "fullName"),
        (ENROL, {"u": "adele", "l": "Nokia"}, "username"),
        (ENROL, {"u": "nobody", "l": "Nokia"}, "username"),
        (ENROL, {"u": "jldelmas", "l": "N" * 81}, "label"),
        (REVOKE, {"id": 999}, "deviceId"),
        (RESET_PIN, {"u": "jldelmas", "p": "1111"}, "pin"),
        (RESET_PIN, {"u": "adele", "p": NEW_PIN}, "username"),
        (SET_PASSWORD, {"u": "jldelmas", "p": NEW_PASSWORD}, "username"),
        (SET_SECTOR, {"name": "Nord", "c": "adele"}, "collector"),
        (SET_SECTOR, {"name": "Nord", "c": "nobody"}, "collector"),
        (SET_SECTOR, {"name": "Nord", "ids": [999]}, "communeIds"),
        (SET_SECTOR, {"name": "Nord", "names": ["Atlantis"]}, "communeNames"),
        (SET_SECTOR, {"name": " "}, "name"),
        (SET_ACTIVE, {"u": "adele", "a": False}, "username"),
    ],
)
async def test_bad_input_is_an_error_naming_the_argument(
    admin: Viewer, document: str, variables: dict[str, Any], argument: str
) -> None:
    await make.collector("jldelmas", "Moissac")
    error = error_of(await run(admin, document, **variables))
    assert error["code"] == "BAD_USER_INPUT", error
    assert error["argument"] == argument
    assert error["message"].startswith(f"'{argument}': ")
    for secret in ("123456", "short", "1111", NEW_PIN, NEW_PASSWORD):
        assert secret not in error["message"]


async def test_a_new_secret_ends_the_sessions_opened_with_the_old_one(admin: Viewer) -> None:
    await make.collector("jldelmas", "Moissac")
    await make.office("claire")
    collector = await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, COLLECTOR_PIN, "wml")
    office = await sessions.sign_in_office("claire", OFFICE_PASSWORD)
    assert await sessions.viewer_for_session(collector.token, "wml") is not None
    data_of(await run(admin, RESET_PIN, u="jldelmas", p=NEW_PIN))
    data_of(await run(admin, SET_PASSWORD, u="claire", p=NEW_PASSWORD))
    assert await sessions.viewer_for_session(collector.token, "wml") is None
    assert await sessions.viewer_for_session(office.token, "html") is None
