"""OAuth2 clients and authorization codes: registration, client authentication, codes with PKCE.

**Secrets.** A confidential client's secret is 256 random bits (``secrets.token_urlsafe(32)``),
shown once and stored as its SHA-256 digest. A fast hash is the right tool for a secret of that
entropy: guessing it is infeasible whatever the hash, while argon2id on every token request would
hand an unauthenticated caller a cheap way to burn CPU. A secret given by the caller (the demo
office's known treasury secret) must be at least :data:`MIN_SECRET_LENGTH` characters for the same
reason. Authorization codes are 256 random bits too, stored as digests, single use.

**Redirect URIs** are matched exactly (no prefix, no wildcard, no loopback port relaxation) and
must be ``https``, ``http`` on a loopback IP literal (RFC 8252 §7.3), or a private-use scheme in
reverse-domain form (RFC 8252 §7.1). No fragment.

**PKCE** is required of every client, public or confidential, and only ``S256`` is accepted.

Access tokens themselves are signed in :mod:`regie.auth.tokens`; this module hands out the grants.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError

from regie.db import oauth, people
from regie.services import clock
from regie.services.access import ALL_SCOPES, ROLE_SCOPES

AUTHORIZATION_CODE = "authorization_code"
CLIENT_CREDENTIALS = "client_credentials"
GRANT_TYPES = (AUTHORIZATION_CODE, CLIENT_CREDENTIALS)

CODE_LIFETIME = timedelta(minutes=5)
"""How long an authorization code may be exchanged (RFC 6749 §4.1.2 recommends at most 10 min)."""
MIN_SECRET_LENGTH = 32
RESERVED_CLIENT_IDS = frozenset({"regie-cli"})
"""Client ids no registered client may take (``regie token`` issues under ``regie-cli``)."""

_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,63}")
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 §3.3 scope-token
_CODE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.1
_CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # BASE64URL(SHA-256), no padding
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})
_HASH_PREFIX = "sha256:"
_DUMMY_HASH = _HASH_PREFIX + hashlib.sha256(b"no such client").hexdigest()


class OAuthError(Exception):
    """An OAuth2 error response (RFC 6749 §5.2): ``error`` is the registered code.

    ``description`` is for developers: plain ASCII without quotes or backslashes, no secrets.
    """

    def __init__(self, error: str, description: str | None = None) -> None:
        super().__init__(error if description is None else f"{error}: {description}")
        self.error = error
        self.description = description

    @property
    def status_code(self) -> int:
        return 401 if self.error == "invalid_client" else 400


@dataclass(frozen=True)
class NewClient:
    client: oauth.OAuthClient
    secret: str | None
    """The client's secret, in the clear this one time; ``None`` for a public client."""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _check_redirect_uri(uri: str) -> None:
    parts = urlsplit(uri)
    if len(uri) > 500 or any(c.isspace() for c in uri) or "#" in uri:
        raise ValueError(f"redirect URI {uri!r}: at most 500 characters, no space, no fragment")
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return
    if "." in parts.scheme and parts.scheme not in ("http", "https") and parts.path:
        return  # a private-use scheme such as fr.office.regie:/callback (RFC 8252 §7.1)
    raise ValueError(
        f"redirect URI {uri!r} must use https, http on 127.0.0.1 or [::1], "
        "or a reverse-domain private-use scheme"
    )


async def create_client(
    name: str,
    *,
    scopes: Iterable[str],
    redirect_uris: Iterable[str] = (),
    public: bool = False,
    grant_types: Iterable[str] | None = None,
    secret: str | None = None,
    client_id: str | None = None,
) -> NewClient:
    """Register a client and return it with its secret, which is never shown again.

    A confidential client gets ``client_credentials``, plus ``authorization_code`` when it has
    redirect URIs; a public client gets ``authorization_code`` only and needs a redirect URI.
    ``secret`` and ``client_id`` default to fresh random values (the demo office passes known
    ones). Raises ``ValueError`` naming what is wrong.
    """
    name = name.strip()
    if not name or len(name) > 120:
        raise ValueError("a client name has 1 to 120 characters")
    scope_set = frozenset(scopes)
    if not scope_set:
        raise ValueError("a client needs at least one scope")
    unknown = scope_set - set(ALL_SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
    uris = list(dict.fromkeys(redirect_uris))
    for uri in uris:
        _check_redirect_uri(uri)
    if grant_types is None:
        grants = {AUTHORIZATION_CODE} if public else {CLIENT_CREDENTIALS}
        if uris:
            grants.add(AUTHORIZATION_CODE)
    else:
        grants = set(grant_types)
    if not grants or not grants <= set(GRANT_TYPES):
        raise ValueError(f"grant types are among {', '.join(GRANT_TYPES)}")
    if public and CLIENT_CREDENTIALS in grants:
        raise ValueError("a public client cannot use client_credentials")
    if AUTHORIZATION_CODE in grants and not uris:
        raise ValueError("authorization_code needs at least one redirect URI")
    if public and secret is not None:
        raise ValueError("a public client has no secret")
    if secret is not None and len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"a client secret has at least {MIN_SECRET_LENGTH} characters")
    if client_id is None:
        client_id = secrets.token_hex(12)
    elif not _CLIENT_ID.fullmatch(client_id) or client_id in RESERVED_CLIENT_IDS:
        raise ValueError(
            "a client id has 3 to 64 letters, digits, '.', '_' or '-', starts with a letter or "
            "digit, and is not reserved"
        )
    if not public and secret is None:
        secret = secrets.token_urlsafe(32)
    try:
        client = await oauth.OAuthClient.create(
            client_id=client_id,
            name=name,
            secret_hash=None if secret is None else _HASH_PREFIX + _digest(secret),
            redirect_uris=" ".join(uris),
            grant_types=" ".join(sorted(grants)),
            scopes=" ".join(sorted(scope_set)),
        )
    except IntegrityError as error:
        raise ValueError(f"the client id {client_id!r} is taken") from error
    return NewClient(client=client, secret=secret)


async def list_clients() -> list[oauth.OAuthClient]:
    return await oauth.OAuthClient.all().order_by("created_at", "id")


async def deactivate_client(client_id: str, *, now: datetime | None = None) -> bool:
    """Deactivate a client: it obtains no token, and its tokens stop working at once.

    ``False`` when no active client has this id.
    """
    updated = await oauth.OAuthClient.filter(client_id=client_id, active=True).update(
        active=False, deactivated_at=now or clock.now_utc()
    )
    return updated > 0


async def active_client(client_id: str) -> oauth.OAuthClient | None:
    return await oauth.OAuthClient.get_or_none(client_id=client_id, active=True)


async def authenticate_client(client_id: str, secret: str | None) -> oauth.OAuthClient:
    """The active client ``client_id`` if ``secret`` is its secret (``None`` for a public client).

    Raises ``invalid_client`` for an unknown or inactive client, a wrong or missing secret, or a
    secret presented by a public client; an unknown client costs the same digest comparison.
    """
    client = await active_client(client_id) if len(client_id) <= 64 else None
    if client is None:
        if secret is not None:
            hmac.compare_digest(_DUMMY_HASH, _HASH_PREFIX + _digest(secret))
        raise OAuthError("invalid_client", "client authentication failed")
    if client.secret_hash is None:
        if secret is not None:
            raise OAuthError("invalid_client", "client authentication failed")
        return client
    if secret is None or not hmac.compare_digest(
        client.secret_hash, _HASH_PREFIX + _digest(secret)
    ):
        raise OAuthError("invalid_client", "client authentication failed")
    return client


def parse_scope(value: str | None) -> frozenset[str] | None:
    """The scopes of a ``scope`` parameter; ``None`` when absent; ``invalid_scope`` if malformed."""
    if value is None:
        return None
    names = [n for n in value.split(" ") if n]
    if not names or not all(_SCOPE_TOKEN.fullmatch(n) for n in names):
        raise OAuthError("invalid_scope", "malformed scope")
    return frozenset(names)


def format_scope(scopes: Iterable[str]) -> str:
    return " ".join(sorted(scopes))


def user_allowed_scopes(client: oauth.OAuthClient, role: people.Role) -> frozenset[str]:
    """What a client may get on behalf of a user: its own scopes within the user's role's."""
    return client.scope_set & ROLE_SCOPES[role]


def match_redirect_uri(client: oauth.OAuthClient, requested: str | None) -> str | None:
    """The redirect URI to use: ``requested`` if registered exactly; the only registered one when
    none is requested; otherwise ``None`` (never redirect there)."""
    registered = client.redirect_uri_list
    if requested is None:
        return registered[0] if len(registered) == 1 else None
    return requested if requested in registered else None


def is_valid_code_challenge(challenge: str) -> bool:
    return bool(_CODE_CHALLENGE.fullmatch(challenge))


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def create_authorization_code(
    client: oauth.OAuthClient,
    user_id: int,
    *,
    redirect_uri: str,
    redirect_uri_in_request: bool,
    scopes: frozenset[str],
    code_challenge: str,
    now: datetime | None = None,
) -> str:
    """Issue a single-use code for ``user_id``'s approval; returns the code (stored as a digest)."""
    if not scopes:
        raise ValueError("an authorization code grants at least one scope")
    if not is_valid_code_challenge(code_challenge):
        raise ValueError("a PKCE S256 challenge is 43 base64url characters")
    now = now or clock.now_utc()
    code = secrets.token_urlsafe(32)
    await oauth.OAuthAuthorizationCode.create(
        code_hash=_digest(code),
        client_id=client.id,
        user_id=user_id,
        redirect_uri=redirect_uri,
        redirect_uri_in_request=redirect_uri_in_request,
        scope=format_scope(scopes),
        code_challenge=code_challenge,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    return code


@dataclass(frozen=True)
class CodeGrant:
    user_id: int
    scopes: frozenset[str]


async def redeem_authorization_code(
    client: oauth.OAuthClient,
    *,
    code: str,
    redirect_uri: str | None,
    code_verifier: str | None,
    token_jti: str,
    token_expires_at: datetime,
    now: datetime | None = None,
) -> CodeGrant:
    """Exchange a code for the grant it carries, once. Raises :class:`OAuthError`.

    The caller chooses the access token's ``jti`` and expiry beforehand and they are recorded with
    the code in the same update that marks it used, so a second use of the code (a replay, or a
    race) revokes the token the first one obtained.
    """
    now = now or clock.now_utc()
    if len(code) > 100:
        raise OAuthError("invalid_grant", "unknown authorization code")
    row = await oauth.OAuthAuthorizationCode.get_or_none(code_hash=_digest(code))
    if row is None or row.client_id != client.id:
        raise OAuthError("invalid_grant", "unknown authorization code")
    if row.used_at is not None:
        await _revoke_issued(row, now)
        raise OAuthError("invalid_grant", "authorization code already used")
    if row.expires_at <= now:
        raise OAuthError("invalid_grant", "authorization code expired")
    if (
        row.redirect_uri_in_request or redirect_uri is not None
    ) and redirect_uri != row.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
    if code_verifier is None:
        raise OAuthError("invalid_request", "code_verifier is required")
    if not _CODE_VERIFIER.fullmatch(code_verifier) or not hmac.compare_digest(
        s256_challenge(code_verifier), row.code_challenge
    ):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    user = await people.User.get_or_none(id=row.user_id, active=True)
    if user is None:
        raise OAuthError("invalid_grant", "the user is no longer active")
    scopes = frozenset(row.scope.split()) & user_allowed_scopes(client, user.role)
    if not scopes:
        raise OAuthError("invalid_scope", "no scope left to grant")
    marked = await oauth.OAuthAuthorizationCode.filter(id=row.id, used_at=None).update(
        used_at=now, issued_jti=token_jti, issued_expires_at=token_expires_at
    )
    if marked != 1:  # another request redeemed it in between
        fresh = await oauth.OAuthAuthorizationCode.get(id=row.id)
        await _revoke_issued(fresh, now)
        raise OAuthError("invalid_grant", "authorization code already used")
    return CodeGrant(user_id=user.id, scopes=scopes)


async def _revoke_issued(row: oauth.OAuthAuthorizationCode, now: datetime) -> None:
    if row.issued_jti is not None and row.issued_expires_at is not None:
        await revoke_token_id(row.issued_jti, row.issued_expires_at, now=now)


async def revoke_token_id(jti: str, expires_at: datetime, *, now: datetime | None = None) -> None:
    """Record an access token as revoked until ``expires_at`` (idempotent)."""
    if await oauth.OAuthRevokedToken.exists(jti=jti):
        return
    with contextlib.suppress(IntegrityError):  # revoked concurrently: same outcome
        await oauth.OAuthRevokedToken.create(
            jti=jti, expires_at=expires_at, revoked_at=now or clock.now_utc()
        )


async def is_revoked(jti: str) -> bool:
    return await oauth.OAuthRevokedToken.exists(jti=jti)


async def purge_expired(*, older_than: datetime) -> int:
    """Delete revoked-token records and authorization codes that expired before ``older_than``."""
    revoked = await oauth.OAuthRevokedToken.filter(expires_at__lt=older_than).delete()
    codes = await oauth.OAuthAuthorizationCode.filter(expires_at__lt=older_than).delete()
    return revoked + codes
