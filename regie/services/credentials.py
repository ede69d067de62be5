"""Secrets users and devices present: PINs and passwords (argon2id), device secrets, session tokens.

A PIN or password is only ever held in memory long enough to hash or verify it; nothing here logs.
Device secrets and session tokens are long random values: a SHA-256 of them is enough to store.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PIN_DIGITS = 6
MIN_PASSWORD_LENGTH = 12
DEVICE_SECRET_DIGITS = 20

# argon2id with the library's defaults (RFC 9106 "second recommended option": t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()
# Verified against when the user is unknown, so that every refusal costs the same time.
_DUMMY_HASH = _hasher.hash("not a real secret: equalises sign-in timing")


class WeakSecret(ValueError):
    """A PIN or password that does not meet the rules; the message says which rule."""


def check_pin(pin: str) -> None:
    if not pin.isdigit() or not pin.isascii():
        raise WeakSecret("a PIN is made of digits only")
    if len(pin) < MIN_PIN_DIGITS:
        raise WeakSecret(f"a PIN has at least {MIN_PIN_DIGITS} digits")
    if len(set(pin)) == 1 or pin in "01234567890123456789" or pin in "98765432109876543210":
        raise WeakSecret("a PIN may not repeat one digit or follow a sequence")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakSecret(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if len(set(password)) < 4:
        raise WeakSecret("a password needs more than three different characters")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """Constant-cost check: an absent hash still costs one argon2 verification."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, secret) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_device_secret() -> str:
    """20 random digits (66 bits), typed on a keypad once a day, shown in groups of five."""
    return "".join(secrets.choice("0123456789") for _ in range(DEVICE_SECRET_DIGITS))


def format_device_secret(secret: str) -> str:
    return " ".join(secret[i : i + 5] for i in range(0, len(secret), 5))


def normalise_device_secret(typed: str) -> str:
    """What the collector typed, without the spaces or dashes they may have added."""
    return "".join(c for c in typed if c.isdigit())


def new_token() -> str:
    """An unguessable token for sessions (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def digest(value: str) -> str:
    """SHA-256 (hex) of a long random value, for storage and lookup."""
    return hashlib.sha256(value.encode()).hexdigest()
