"""Sign-in and sessions for people: collectors (device + PIN) and office staff (password).

Rules (see SECURITY.md):

- a collector signs in with their username, the secret of a device an admin enrolled for them,
  and a PIN of at least 6 digits; 3 failures lock the account until an admin unlocks it;
- office staff and admins sign in with a password of at least 12 characters; 5 failures in a row
  hold the account for 15 minutes;
- unknown user, wrong device, wrong PIN or password and locked account all get the same refusal
  after the same work (one argon2 verification);
- sessions end after a period of inactivity (10 min on WML, 30 min on HTML) and after 10 hours
  whatever happens; an admin can revoke every session of a user at once (lost phone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from regie.db import auth, people
from regie.services import credentials, database
from regie.services.access import Viewer
from regie.services.clock import now_utc
from regie.services.principals import viewer_with_communes

COLLECTOR_MAX_FAILURES = 3
OFFICE_MAX_FAILURES = 5
OFFICE_HOLD = timedelta(minutes=15)
LOCKED_UNTIL_UNLOCKED = datetime(9999, 12, 31, tzinfo=UTC)
IDLE_TIMEOUT = {"wml": timedelta(minutes=10), "html": timedelta(minutes=30)}
ABSOLUTE_TIMEOUT = timedelta(hours=10)
SURFACES = tuple(IDLE_TIMEOUT)


class SignInRefused(Exception):
    """One refusal for every cause, so that it reveals nothing about which one."""

    def __init__(self) -> None:
        super().__init__("sign-in refused")


@dataclass(frozen=True)
class OpenedSession:
    token: str
    """Give it to the client once (cookie or WML URL); only its digest is stored."""
    session_id: int
    user_id: int
    expires_at: datetime


async def sign_in_collector(
    username: str, device_secret: str, pin: str, surface: str
) -> OpenedSession:
    user = await people.User.get_or_none(
        username=username.strip().lower(), role=people.Role.COLLECTOR
    )
    # The same queries whether or not the user exists (id 0 matches no device).
    device = await auth.Device.get_or_none(
        user_id=user.id if user else 0,
        secret_hash=credentials.digest(credentials.normalise_device_secret(device_secret)),
        revoked_at=None,
    )
    # Always one argon2 verification, whatever is missing.
    pin_ok = credentials.verify_secret(user.pin_hash if user else None, pin)
    if user is None or not user.active or device is None:
        raise SignInRefused()
    return await _conclude(user, pin_ok, COLLECTOR_MAX_FAILURES, None, device.id, surface)


async def sign_in_office(username: str, password: str, surface: str = "html") -> OpenedSession:
    user = await people.User.get_or_none(username=username.strip().lower())
    if user is not None and user.role == people.Role.COLLECTOR:
        user = None  # collectors sign in with a device and a PIN
    password_ok = credentials.verify_secret(user.password_hash if user else None, password)
    if user is None or not user.active:
        raise SignInRefused()
    return await _conclude(user, password_ok, OFFICE_MAX_FAILURES, OFFICE_HOLD, None, surface)


async def _conclude(
    user: people.User,
    secret_ok: bool,
    max_failures: int,
    hold: timedelta | None,
    device_id: int | None,
    surface: str,
) -> OpenedSession:
    now = now_utc()
    if user.locked_until is not None and user.locked_until > now:
        raise SignInRefused()
    if not secret_ok:
        failures = user.failed_sign_ins + 1
        locked_until = None
        if failures >= max_failures:
            locked_until = now + hold if hold is not None else LOCKED_UNTIL_UNLOCKED
        await people.User.filter(id=user.id).update(
            failed_sign_ins=F("failed_sign_ins") + 1, locked_until=locked_until
        )
        raise SignInRefused()
    await people.User.filter(id=user.id).update(failed_sign_ins=0, locked_until=None)
    if device_id is not None:
        await auth.Device.filter(id=device_id).update(last_used_at=now)
    return await open_session(user.id, device_id, surface)


async def open_session(user_id: int, device_id: int | None, surface: str) -> OpenedSession:
    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}")
    token = credentials.new_token()
    now = now_utc()
    session = await auth.Session.create(
        token_hash=credentials.digest(token),
        user_id=user_id,
        device_id=device_id,
        surface=surface,
        created_at=now,
        last_seen_at=now,
        expires_at=now + ABSOLUTE_TIMEOUT,
    )
    return OpenedSession(token, session.id, user_id, session.expires_at)


async def viewer_for_session(token: str, surface: str) -> Viewer | None:
    """The viewer of a live session of ``surface``; ``None`` when unknown, expired or revoked.

    Each use pushes the idle deadline back.
    """
    if not token or len(token) > 100:
        return None
    # It runs before every request: one hand-written query for the session, its user, its device
    # and a collector's communes (a row per commune), decoding only what the check needs (the
    # ORM's rows cost a millisecond more; the communes were a statement of their own).
    rows = await database.fetch(
        _SESSION_CHECK.format(token=database.placeholder(1), surface=database.placeholder(2)),
        [credentials.digest(token), surface],
    )
    if not rows:
        return None
    row = rows[0]
    now = now_utc()
    last_seen_at = database.as_datetime(row["last_seen_at"])
    if (
        row["revoked_at"] is not None
        or database.as_datetime(row["expires_at"]) <= now
        or last_seen_at + IDLE_TIMEOUT[surface] <= now
        or row["device_revoked_at"] is not None
    ):
        return None
    # Writing on every request would serialise readers on SQLite: refresh once a minute at most.
    if now - last_seen_at > timedelta(minutes=1):
        await auth.Session.filter(id=row["id"]).update(last_seen_at=now)
    if not row["active"]:
        return None
    role = people.Role(row["role"])
    # What principals.commune_ids_of reads: a collector's sectors' communes; all for the others.
    communes = (
        frozenset(r["commune_id"] for r in rows if r["commune_id"] is not None)
        if role == people.Role.COLLECTOR
        else None
    )
    return viewer_with_communes(row["user_id"], role, communes, session_id=row["id"])


_SESSION_CHECK = """
SELECT s.id, s.user_id, s.last_seen_at, s.expires_at, s.revoked_at,
       d.revoked_at AS device_revoked_at, u.role, u.active, sc.commune_id
FROM session s
JOIN app_user u ON u.id = s.user_id
LEFT JOIN device d ON d.id = s.device_id
LEFT JOIN sector sec ON sec.collector_id = u.id
LEFT JOIN sector_commune sc ON sc.sector_id = sec.id
WHERE s.token_hash = {token} AND s.surface = {surface}
"""


async def sign_out(token: str) -> None:
    await auth.Session.filter(token_hash=credentials.digest(token), revoked_at=None).update(
        revoked_at=now_utc()
    )


async def revoke_session(session_id: int) -> None:
    await auth.Session.filter(id=session_id, revoked_at=None).update(revoked_at=now_utc())


async def revoke_user_sessions(user_id: int) -> int:
    """End every session of a user at once (lost phone). Returns how many were live."""
    async with in_transaction():
        return await auth.Session.filter(user_id=user_id, revoked_at=None).update(
            revoked_at=now_utc()
        )
