from datetime import timedelta

import pytest

from regie.db.people import Role
from regie.services import principals, sessions, users
from tests import factories
from tests.auth import people as make
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET, OFFICE_PASSWORD
from tests.sql_counter import count_sql


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


async def test_a_sessions_viewer_is_read_in_one_statement_with_the_collectors_communes(
    db: object,
) -> None:
    await make.collector()  # sector "Secteur jldelmas": Moissac
    await factories.commune("Castelsarrasin", "82100")
    await factories.commune("Caussade", "82300")
    await users.set_sector("Secteur Garonne", "jldelmas", ["Castelsarrasin"])
    await make.office()
    collector = await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, COLLECTOR_PIN, "wml")
    office = await sessions.sign_in_office("claire", OFFICE_PASSWORD)
    expected = await principals.commune_ids_of(collector.user_id, Role.COLLECTOR)
    assert expected is not None and len(expected) == 2  # Caussade is nobody's
    with count_sql() as statements:
        viewer = await sessions.viewer_for_session(collector.token, "wml")
        staff = await sessions.viewer_for_session(office.token, "html")
    assert viewer is not None and viewer.commune_ids == expected
    assert staff is not None and staff.commune_ids is None  # office staff see every commune
    assert len(statements) == 2  # one each: the session, its user, device and communes
    # A collector whose sectors were all taken away sees nothing.
    await users.set_sector("Secteur jldelmas", None, ["Moissac"])
    await users.set_sector("Secteur Garonne", None, ["Castelsarrasin"])
    viewer = await sessions.viewer_for_session(collector.token, "wml")
    assert viewer is not None and viewer.commune_ids == frozenset()
