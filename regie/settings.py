"""Every setting Régie reads, read once from the environment.

Nothing else in the package looks at ``os.environ``: the app factory, the CLI and the tests build a
:class:`Settings` here and pass it down.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from starlette.config import Config

Environment = Literal["development", "production"]

DEFAULT_DATABASE_URL = "sqlite://data/regie.sqlite3"
DEFAULT_ISSUER = "http://127.0.0.1:8000"
MIN_SECRET_KEY_LENGTH = 32

_DEVELOPMENT_SECRET_KEY = secrets.token_urlsafe(32)
"""Development only: one random key per process, so CSRF tokens die with the process."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    environment: Environment
    host: str
    port: int
    issuer: str = DEFAULT_ISSUER
    """The OAuth2 issuer (RFC 8414) and the audience of Régie's access tokens: no trailing slash."""
    secret_key: str = field(default=_DEVELOPMENT_SECRET_KEY, repr=False)
    """HMAC key for CSRF tokens; required (at least 32 characters) in production."""
    push_secrets: tuple[bytes, ...] = field(default=(), repr=False)
    """Standard Webhooks secrets of the push channel (``REGIE_PUSH_SECRETS``, comma-separated
    ``whsec_<base64>``); several during a rotation. None: the push channel answers 503."""
    push_max_bytes: int = 1024 * 1024
    """Largest push body accepted (``REGIE_PUSH_MAX_BYTES``), checked before reading it all."""
    broker_url: str = ""
    """Live updates across processes (``REGIE_BROKER_URL=redis://…``); empty: in-process only."""
    iban_key: bytes = field(default=b"", repr=False)
    """Key of the payer-IBAN fingerprints (``REGIE_IBAN_KEY``); empty: a development key."""

    audit_retention_days: int = 365
    """Audit events older than this are purged (CNIL délibération 2021-122: 12 months)."""

    @property
    def is_development(self) -> bool:
        return self.environment == "development"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: the process environment)."""
    config = Config(environ=dict(os.environ if environ is None else environ))
    environment_name = config("REGIE_ENV", default="development")
    environment: Environment
    if environment_name == "development":
        environment = "development"
    elif environment_name == "production":
        environment = "production"
    else:
        raise ValueError(
            f"REGIE_ENV must be 'development' or 'production', not {environment_name!r}"
        )
    database_url = config("DATABASE_URL", default=DEFAULT_DATABASE_URL)
    port = config("PORT", cast=int, default=8000)
    issuer = _issuer(config("REGIE_ISSUER", default=DEFAULT_ISSUER), environment)
    secret_key = config("REGIE_SECRET_KEY", default="")
    if not secret_key:
        if environment == "production":
            raise ValueError("REGIE_SECRET_KEY is required in production")
        secret_key = _DEVELOPMENT_SECRET_KEY
    elif len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise ValueError(f"REGIE_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters")
    retention = config("REGIE_AUDIT_RETENTION_DAYS", cast=int, default=365)
    if retention < 1:
        raise ValueError("REGIE_AUDIT_RETENTION_DAYS must be at least 1")
    return Settings(
        audit_retention_days=retention,
        database_url=database_url,
        environment=environment,
        host=config("HOST", default="127.0.0.1"),
        port=port,
        issuer=issuer,
        secret_key=secret_key,
        push_secrets=_push_secrets(config("REGIE_PUSH_SECRETS", default="")),
        push_max_bytes=config("REGIE_PUSH_MAX_BYTES", cast=int, default=1024 * 1024),
        broker_url=config("REGIE_BROKER_URL", default=""),
        iban_key=config("REGIE_IBAN_KEY", default="").encode(),
    )


def _push_secrets(value: str) -> tuple[bytes, ...]:
    """``whsec_<base64>`` secrets, comma-separated (Standard Webhooks), as raw keys."""
    secrets_found: list[bytes] = []
    for position, item in enumerate((part.strip() for part in value.split(",")), start=1):
        if not item:
            continue
        encoded = item.removeprefix("whsec_")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(
                f"REGIE_PUSH_SECRETS: secret {position} is not whsec_<base64>"
            ) from None
        if len(key) < 24:
            raise ValueError(f"REGIE_PUSH_SECRETS: secret {position} holds fewer than 24 bytes")
        secrets_found.append(key)
    return tuple(secrets_found)


def _issuer(value: str, environment: Environment) -> str:
    """An RFC 8414 issuer: an http(s) URL without query or fragment; https in production."""
    value = value.rstrip("/")
    parts = urlsplit(value)
    allowed_schemes = ("https",) if environment == "production" else ("https", "http")
    if parts.scheme not in allowed_schemes or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(
            f"REGIE_ISSUER must be an {' or '.join(allowed_schemes)} URL without query or fragment"
        )
    return value


def ensure_sqlite_directory(database_url: str) -> None:
    """Create the folder of an SQLite file database so a fresh clone can start at once."""
    prefix = "sqlite://"
    if not database_url.startswith(prefix):
        return
    path = database_url[len(prefix) :].split("?", 1)[0]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
