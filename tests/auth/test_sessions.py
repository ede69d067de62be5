from datetime import timedelta

import pytest

from regie.services import sessions, users
from tests.auth import people as make
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET, OFFICE_PASSWORD


async def test_a_session_ends_after_its_idle_timeout(
    db: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make.collector()
    opened = await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, COLLECTOR_PIN, "wml")
    start = sessions.now_utc()
    monkeypatch.setattr(sessions, "now_utc", lambda: start + timedelta(minutes=9))
    assert await sessions.viewer_for_session(opened.token, "wml") is not None
    monkeypatch.setattr(sessions, "now_utc", lambda: start + timedelta(minutes=18))
    assert await sessions.viewer_for_session(opened.token, "wml") is not None  # used at 9 min
    monkeypatch.setattr(sessions, "now_utc", lambda: start + timedelta(minutes=29))
    assert await sessions.viewer_for_session(opened.token, "wml") is None


async def test_a_session_ends_after_ten_hours_whatever_the_activity(
    db: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make.office()
    opened = await sessions.sign_in_office("claire", OFFICE_PASSWORD)
    start = sessions.now_utc()
    for minutes in range(20, 10 * 60, 20):
        monkeypatch.setattr(sessions, "now_utc", lambda m=minutes: start + timedelta(minutes=m))
        assert await sessions.viewer_for_session(opened.token, "html") is not None
    monkeypatch.setattr(sessions, "now_utc", lambda: start + timedelta(hours=10, minutes=1))
    assert await sessions.viewer_for_session(opened.token, "html") is None


async def test_an_admin_revokes_every_session_of_a_lost_phone_at_once(db: object) -> None:
    user = await make.collector()
    tokens = [
        (await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, COLLECTOR_PIN, surface)).token
        for surface in ("wml", "html")
    ]
    assert await sessions.revoke_user_sessions(user.id) == 2
    assert await sessions.viewer_for_session(tokens[0], "wml") is None
    assert await sessions.viewer_for_session(tokens[1], "html") is None


async def test_a_session_token_works_only_on_its_own_surface(db: object) -> None:
    await make.collector()
    opened = await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, COLLECTOR_PIN, "wml")
    assert await sessions.viewer_for_session(opened.token, "html") is None


async def test_a_deactivated_user_loses_their_sessions(db: object) -> None:
    await make.office()
    opened = await sessions.sign_in_office("claire", OFFICE_PASSWORD)
    await users.set_active("claire", False)
    assert await sessions.viewer_for_session(opened.token, "html") is None


async def test_only_the_digest_of_a_session_token_is_stored(db: object) -> None:
    from regie.db import auth

    await make.office()
    opened = await sessions.sign_in_office("claire", OFFICE_PASSWORD)
    stored = await auth.Session.get(id=opened.session_id)
    assert opened.token not in stored.token_hash and len(stored.token_hash) == 64
