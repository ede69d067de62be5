"""Régie's access tokens: short-lived signed JWTs (RFC 9068), their signing keys, their checks.

A token is an ES256 JWS with the header ``{"typ": "at+jwt", "alg": "ES256", "kid": ...}`` and the
claims ``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``jti``, ``client_id`` and ``scope``. ``sub``
is ``user:<id>`` when a user granted the token (authorization code, ``regie token``) and
``client:<client_id>`` when a client obtained it for itself (client credentials), so the two can
never be confused. The issuer and the audience are both ``settings.issuer``: Régie is its own
resource server.

Verification is strict and fails closed (``None``): the header must name ``typ: at+jwt``, an
allowed algorithm (ES256 only: neither ``none`` nor an HMAC algorithm whose "secret" would be a
public key) and the ``kid`` of one of our keys, and nothing else (no ``jku``, ``jwk``, ``x5u``,
``crit``); then the signature, issuer, audience, expiry and issue time (30 s leeway), and the
revocation list.

Signing keys are generated on first use and kept in the database, so every process of a
deployment signs and verifies with the same keys. :func:`rotate_signing_key` retires the current
key; a retired key still verifies (and stays in the JWKS) until every token it signed has expired,
and never verifies a token claiming to be issued after its retirement.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwt import JWTClaimsRegistry

from regie.db import oauth, people
from regie.services import clock, oauth_clients
from regie.services.access import ALL_SCOPES, ROLE_SCOPES, Viewer
from regie.services.principals import viewer_for_client, viewer_for_user
from regie.settings import Settings, load_settings

ALGORITHM = "ES256"
ALLOWED_ALGORITHMS = (ALGORITHM,)
TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
DEFAULT_LIFETIME = timedelta(minutes=10)
MAX_LIFETIME = timedelta(hours=1)
LEEWAY = timedelta(seconds=30)
KEY_RETENTION = MAX_LIFETIME + LEEWAY
"""How long a retired key keeps verifying and stays published: the longest a token it signed lives."""
CLI_CLIENT_ID = "regie-cli"
"""The ``client_id`` of tokens printed by ``regie token`` (reserved: no client may register it)."""
MAX_TOKEN_LENGTH = 4096

_HEADER_NAMES = frozenset({"alg", "typ", "kid"})
_ESSENTIAL: jwt.ClaimsOption = {"essential": True}


@dataclass(frozen=True)
class AccessTokenClaims:
    """The verified content of an access token."""

    jti: str
    subject: str
    client_id: str
    scopes: frozenset[str]
    issued_at: datetime
    expires_at: datetime
    user_id: int | None
    """The user who granted the token; ``None`` for a client acting for itself."""


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    jti: str
    scopes: frozenset[str]
    expires_at: datetime
    lifetime: timedelta


def new_jti() -> str:
    return secrets.token_urlsafe(24)


def _settings(settings: Settings | None) -> Settings:
    return load_settings() if settings is None else settings


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# --- signing keys -------------------------------------------------------------------------


def _key_of(row: oauth.OAuthSigningKey) -> ECKey:
    return ECKey.import_key(json.loads(row.private_jwk))


async def _new_signing_key(now: datetime) -> oauth.OAuthSigningKey:
    key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": ALGORITHM}, auto_kid=True)
    return await oauth.OAuthSigningKey.create(
        kid=key.thumbprint(),  # RFC 7638
        algorithm=ALGORITHM,
        private_jwk=json.dumps(key.as_dict(private=True)),
        created_at=now,
    )


async def current_signing_key(now: datetime | None = None) -> oauth.OAuthSigningKey:
    """The key that signs new tokens: the newest unretired one, generated on first use."""
    row = await oauth.OAuthSigningKey.filter(retired_at=None).order_by("-created_at", "-id").first()
    return row or await _new_signing_key(now or clock.now_utc())


async def rotate_signing_key(now: datetime | None = None) -> oauth.OAuthSigningKey:
    """Retire every current key and start signing with a new one; tokens already issued stay
    valid until they expire (the retired keys stay in the JWKS that long)."""
    now = now or clock.now_utc()
    await oauth.OAuthSigningKey.filter(retired_at=None).update(retired_at=now)
    _verifying_keys.clear()
    return await _new_signing_key(now)


async def published_signing_keys(now: datetime | None = None) -> list[oauth.OAuthSigningKey]:
    """The keys that may have signed an unexpired token: current, and recently retired."""
    now = now or clock.now_utc()
    await current_signing_key(now)
    rows = await oauth.OAuthSigningKey.all().order_by("-created_at", "-id")
    return [r for r in rows if r.retired_at is None or r.retired_at > now - KEY_RETENTION]


async def jwks(now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """The JSON Web Key Set served at ``/.well-known/jwks.json``: public keys only."""
    keys = []
    for row in await published_signing_keys(now):
        public = dict(_key_of(row).as_dict(private=False))
        public.update({"kid": row.kid, "use": "sig", "alg": row.algorithm})
        keys.append(public)
    return {"keys": keys}


# --- issuing ------------------------------------------------------------------------------


def user_subject(user_id: int) -> str:
    return f"user:{user_id}"


def client_subject(client_id: str) -> str:
    return f"client:{client_id}"


async def mint_access_token(
    *,
    client_id: str,
    scopes: Iterable[str],
    user_id: int | None = None,
    lifetime: timedelta = DEFAULT_LIFETIME,
    jti: str | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> IssuedAccessToken:
    """Sign an access token and return it with its ``jti`` and expiry (see :func:`issue_access_token`)."""
    scope_set = frozenset(scopes)
    if not scope_set:
        raise ValueError("an access token carries at least one scope")
    if not scope_set <= set(ALL_SCOPES):
        raise ValueError(f"unknown scopes: {', '.join(sorted(scope_set - set(ALL_SCOPES)))}")
    if not timedelta(seconds=1) <= lifetime <= MAX_LIFETIME:
        raise ValueError(f"an access token lives between 1 second and {MAX_LIFETIME}")
    issuer = _settings(settings).issuer
    now = _as_utc(now or clock.now_utc()).replace(microsecond=0)
    expires_at = now + lifetime
    jti = jti or new_jti()
    row = await current_signing_key(now)
    claims = {
        "iss": issuer,
        "sub": client_subject(client_id) if user_id is None else user_subject(user_id),
        "aud": issuer,
        "exp": int(expires_at.timestamp()),
        "iat": int(now.timestamp()),
        "jti": jti,
        "client_id": client_id,
        "scope": oauth_clients.format_scope(scope_set),
    }
    header = {"typ": TOKEN_TYPE, "alg": row.algorithm, "kid": row.kid}
    token = jwt.encode(header, claims, _key_of(row), algorithms=ALLOWED_ALGORITHMS)
    return IssuedAccessToken(
        token=token, jti=jti, scopes=scope_set, expires_at=expires_at, lifetime=lifetime
    )


async def issue_access_token(
    *,
    client_id: str,
    scopes: Iterable[str],
    user_id: int | None = None,
    lifetime: timedelta = DEFAULT_LIFETIME,
    jti: str | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> str:
    """A signed access token (RFC 9068) carrying exactly ``scopes``.

    ``user_id`` is the user who granted it, ``None`` for a client acting for itself; the caller
    has already narrowed ``scopes`` to what the client and the user may have. ``lifetime`` is at
    most :data:`MAX_LIFETIME`. ``settings`` gives the issuer (default: the process environment's).
    """
    issued = await mint_access_token(
        client_id=client_id,
        scopes=scopes,
        user_id=user_id,
        lifetime=lifetime,
        jti=jti,
        settings=settings,
        now=now,
    )
    return issued.token


async def issue_operator_token(
    username: str,
    scopes: frozenset[str] | None = None,
    *,
    lifetime: timedelta = DEFAULT_LIFETIME,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> IssuedAccessToken:
    """A token for an active user's scripts (``regie token``): their role's scopes, or fewer.

    Raises ``ValueError`` for an unknown or inactive user, or scopes outside the user's role.
    """
    user = await people.User.get_or_none(username=username, active=True)
    if user is None:
        raise ValueError(f"no active user {username!r}")
    allowed = ROLE_SCOPES[user.role]
    if scopes is not None and not scopes <= allowed:
        outside = ", ".join(sorted(scopes - allowed))
        raise ValueError(f"the role {user.role.value} does not include: {outside}")
    return await mint_access_token(
        client_id=CLI_CLIENT_ID,
        scopes=allowed if scopes is None else scopes,
        user_id=user.id,
        lifetime=lifetime,
        settings=settings,
        now=now,
    )


# --- verifying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _VerifyingKey:
    key: ECKey
    """The public key only."""
    algorithm: str
    retired_at: datetime | None
    loaded_at: float


_verifying_keys: dict[str, _VerifyingKey] = {}
"""Public keys by kid, kept :data:`KEY_CACHE_SECONDS` to spare a query per request (a rotation
in another process reaches this one within that delay)."""
KEY_CACHE_SECONDS = 60.0


async def _verifying_key(kid: str) -> _VerifyingKey | None:
    cached = _verifying_keys.get(kid)
    if cached is not None and time.monotonic() - cached.loaded_at < KEY_CACHE_SECONDS:
        return cached
    row = await oauth.OAuthSigningKey.get_or_none(kid=kid[:64])
    if row is None:
        _verifying_keys.pop(kid, None)
        return None
    public = ECKey.import_key(_key_of(row).as_dict(private=False))
    if len(_verifying_keys) >= 32:
        _verifying_keys.clear()
    entry = _VerifyingKey(public, row.algorithm, row.retired_at, time.monotonic())
    _verifying_keys[row.kid] = entry
    return entry


def _unverified_header(token: str) -> dict[str, Any] | None:
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, RecursionError):  # RecursionError: absurdly nested JSON
        return None
    return header if isinstance(header, dict) else None


async def _verified_claims(token: str, settings: Settings, now: datetime) -> dict[str, Any] | None:
    """The claims of an unexpired token we signed, for us, well formed (revocation unchecked)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        return None
    header = _unverified_header(token)
    if (
        header is None
        or set(header) != _HEADER_NAMES
        or header["alg"] not in ALLOWED_ALGORITHMS
        or not isinstance(header["typ"], str)
        or header["typ"].lower() not in (TOKEN_TYPE, f"application/{TOKEN_TYPE}")
        or not isinstance(header["kid"], str)
    ):
        return None
    verifying = await _verifying_key(header["kid"])
    if verifying is None or verifying.algorithm != header["alg"]:
        return None
    leeway = int(LEEWAY.total_seconds())
    registry = JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=leeway,
        iss={"essential": True, "value": settings.issuer},
        aud={"essential": True, "value": settings.issuer},
        sub=_ESSENTIAL,
        exp=_ESSENTIAL,
        iat=_ESSENTIAL,
        jti=_ESSENTIAL,
        client_id=_ESSENTIAL,
        scope=_ESSENTIAL,
    )
    try:
        claims = jwt.decode(token, verifying.key, algorithms=ALLOWED_ALGORITHMS).claims
        registry.validate(claims)
    except (JoseError, ValueError, RecursionError):
        return None
    if not all(isinstance(claims[k], str) for k in ("sub", "jti", "client_id", "scope")):
        return None
    issued_at = claims["iat"]
    if claims["exp"] - issued_at > MAX_LIFETIME.total_seconds():
        return None
    retired_at = verifying.retired_at
    if retired_at is not None and issued_at > retired_at.timestamp() + leeway:
        return None  # a retired key signs nothing new: such a token is forged
    return claims


def _user_id_of(claims: dict[str, Any]) -> int | Literal[False] | None:
    """The user of ``sub``: an id, ``None`` for a client's own token, ``False`` if malformed."""
    subject: str = claims["sub"]
    if subject.startswith("user:") and subject[5:].isdecimal() and len(subject) < 20:
        return int(subject[5:])
    if subject == client_subject(claims["client_id"]):
        return None
    return False


async def verify_access_token(
    token: str, *, settings: Settings | None = None, now: datetime | None = None
) -> AccessTokenClaims | None:
    """The claims of a valid, unexpired, unrevoked access token of ours; ``None`` otherwise.

    ``settings`` gives the expected issuer and audience (default: the process environment's);
    pass the app's. Never raises for a bad token.
    """
    settings = _settings(settings)
    now = _as_utc(now or clock.now_utc())
    claims = await _verified_claims(token, settings, now)
    if claims is None:
        return None
    user_id = _user_id_of(claims)
    scopes = frozenset(claims["scope"].split()) & set(ALL_SCOPES)
    if user_id is False or not scopes or await oauth_clients.is_revoked(claims["jti"]):
        return None
    return AccessTokenClaims(
        jti=claims["jti"],
        subject=claims["sub"],
        client_id=claims["client_id"],
        scopes=scopes,
        issued_at=datetime.fromtimestamp(claims["iat"], UTC),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        user_id=user_id,
    )


async def viewer_from_access_token(
    token: str, *, settings: Settings | None = None, now: datetime | None = None
) -> Viewer | None:
    """The viewer of a request presenting ``Authorization: Bearer <token>``; ``None`` if invalid.

    The token's scopes are narrowed to what its client and its user may do *now*: a deactivated
    client or user, or a role that lost a scope, takes effect at once.
    """
    claims = await verify_access_token(token, settings=settings, now=now)
    if claims is None:
        return None
    scopes = claims.scopes
    if claims.client_id != CLI_CLIENT_ID:
        client = await oauth_clients.active_client(claims.client_id)
        if client is None:
            return None
        scopes &= client.scope_set
    elif claims.user_id is None:
        return None
    if not scopes:
        return None
    viewer: Viewer | None
    if claims.user_id is None:
        viewer = viewer_for_client(claims.client_id, scopes)
    else:
        viewer = await viewer_for_user(claims.user_id, scopes, client_id=claims.client_id)
    return viewer if viewer is not None and viewer.scopes else None


RevocationOutcome = Literal["revoked", "unknown", "other_client"]


async def revoke_access_token(
    token: str, *, client_id: str, settings: Settings | None = None, now: datetime | None = None
) -> RevocationOutcome:
    """Revoke a token at its client's request (RFC 7009).

    ``unknown`` for anything that is not a live token of ours (nothing to do); ``other_client``
    when the token was issued to another client (refused, nothing revoked).
    """
    settings = _settings(settings)
    now = _as_utc(now or clock.now_utc())
    claims = await _verified_claims(token, settings, now)
    if claims is None:
        return "unknown"  # not ours, or expired already
    if claims["client_id"] != client_id:
        return "other_client"
    expires_at = datetime.fromtimestamp(claims["exp"], UTC) + LEEWAY
    await oauth_clients.revoke_token_id(claims["jti"], expires_at, now=now)
    return "revoked"


async def purge_expired(now: datetime | None = None) -> int:
    """Delete what can no longer matter: revoked-token records and codes past every token's
    lifetime, and signing keys retired longer than :data:`KEY_RETENTION`. Returns rows deleted."""
    now = now or clock.now_utc()
    cutoff = now - KEY_RETENTION
    deleted = await oauth_clients.purge_expired(older_than=cutoff)
    return deleted + await oauth.OAuthSigningKey.filter(retired_at__lt=cutoff).delete()
