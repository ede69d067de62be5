from datetime import timedelta

import pytest

from regie.db import people
from regie.services import credentials, sessions, users
from regie.services.access import ROLE_SCOPES
from regie.services.sessions import SignInRefused
from tests.auth import people as make
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET, OFFICE_PASSWORD


async def test_a_collector_signs_in_with_device_and_pin_and_sees_their_sector(db: object) -> None:
    user = await make.collector()
    opened = await sessions.sign_in_collector(
        "jldelmas", "12345 67890 12345 67890", COLLECTOR_PIN, "wml"
    )
    viewer = await sessions.viewer_for_session(opened.token, "wml")
    assert viewer is not None and viewer.user_id == user.id
    assert viewer.scopes == ROLE_SCOPES[people.Role.COLLECTOR]
    assert viewer.commune_ids is not None and len(viewer.commune_ids) == 1


@pytest.mark.parametrize(
    ("username", "device", "pin"),
    [
        ("nobody", DEVICE_SECRET, COLLECTOR_PIN),
        ("jldelmas", "00000000000000000000", COLLECTOR_PIN),
        ("jldelmas", DEVICE_SECRET, "000111"),
        ("jldelmas", "", COLLECTOR_PIN),
    ],
)
async def test_every_wrong_credential_gets_the_same_refusal(
    db: object, username: str, device: str, pin: str
) -> None:
    await make.collector()
    with pytest.raises(SignInRefused) as refusal:
        await sessions.sign_in_collector(username, device, pin, "html")
    assert str(refusal.value) == "sign-in refused"


async def test_each_refusal_costs_one_argon2_verification(
    db: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make.collector()
    calls: list[str] = []
    real_verify = credentials.verify_secret

    def counting(stored: str | None, secret: str) -> bool:
        calls.append("verify")
        return real_verify(stored, secret)

    monkeypatch.setattr(credentials, "verify_secret", counting)
    for username, pin in (("nobody", COLLECTOR_PIN), ("jldelmas", "000111")):
        with pytest.raises(SignInRefused):
            await sessions.sign_in_collector(username, DEVICE_SECRET, pin, "html")
    assert calls == ["verify", "verify"]


async def test_three_wrong_pins_lock_the_collector_until_an_admin_unlocks(db: object) -> None:
    await make.collector()
    for _ in range(3):
        with pytest.raises(SignInRefused):
            await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, "000111", "html")
    with pytest.raises(SignInRefused):
        await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, COLLECTOR_PIN, "html")
    await users.unlock("jldelmas")
    assert await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, COLLECTOR_PIN, "html")


async def test_a_success_clears_earlier_failures(db: object) -> None:
    await make.collector()
    for _ in range(2):
        with pytest.raises(SignInRefused):
            await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, "000111", "html")
    await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, COLLECTOR_PIN, "html")
    user = await people.User.get(username="jldelmas")
    assert user.failed_sign_ins == 0 and user.locked_until is None


async def test_five_wrong_passwords_hold_an_office_user_for_fifteen_minutes(
    db: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make.office()
    for _ in range(5):
        with pytest.raises(SignInRefused):
            await sessions.sign_in_office("claire", "wrong password!!")
    with pytest.raises(SignInRefused):
        await sessions.sign_in_office("claire", OFFICE_PASSWORD)
    later = sessions.now_utc() + timedelta(minutes=16)
    monkeypatch.setattr(sessions, "now_utc", lambda: later)
    assert await sessions.sign_in_office("claire", OFFICE_PASSWORD)


async def test_collectors_cannot_sign_in_with_a_password(db: object) -> None:
    await make.collector()
    with pytest.raises(SignInRefused):
        await sessions.sign_in_office("jldelmas", COLLECTOR_PIN)


async def test_a_revoked_device_no_longer_signs_in_and_its_sessions_end(db: object) -> None:
    await make.collector()
    opened = await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, COLLECTOR_PIN, "wml")
    device = await people.User.get(username="jldelmas").prefetch_related("devices")
    await users.revoke_device(device.devices[0].id)
    assert await sessions.viewer_for_session(opened.token, "wml") is None
    with pytest.raises(SignInRefused):
        await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, COLLECTOR_PIN, "wml")


async def test_the_pin_is_stored_only_as_an_argon2id_hash(db: object) -> None:
    user = await make.collector()
    await user.refresh_from_db()
    assert user.pin_hash is not None and user.pin_hash.startswith("$argon2id$")
    assert COLLECTOR_PIN not in user.pin_hash


@pytest.mark.parametrize("pin", ["12345", "123456", "111111", "12a456", "987654"])
def test_weak_pins_are_refused(pin: str) -> None:
    with pytest.raises(credentials.WeakSecret):
        credentials.check_pin(pin)


def test_short_passwords_are_refused() -> None:
    with pytest.raises(credentials.WeakSecret, match="12"):
        credentials.check_password("short pass")
