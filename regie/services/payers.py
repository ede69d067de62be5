"""Payers: IBAN fingerprints (never the IBAN itself), and bulk payers such as the CAF and the FSL.

An IBAN is personal data and a bank secret: Régie keeps a keyed fingerprint (HMAC-SHA256 under
``REGIE_IBAN_KEY``) to recognise a payer's account again, and its last four characters to show a
person. Neither the logs, the database nor the API ever hold a whole IBAN.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from regie.db.matching import BulkPayerKind
from regie.services import names

DEVELOPMENT_KEY = b"regie-development-iban-key: set REGIE_IBAN_KEY in production"
_key = {"current": DEVELOPMENT_KEY}


def use_key(key: bytes) -> None:
    """Set the fingerprint key (from the settings, at start-up). Changing it forgets every payer."""
    if len(key) < 16:
        raise ValueError("the IBAN fingerprint key must hold at least 16 bytes")
    _key["current"] = key


def normalize_iban(iban: str) -> str:
    return "".join(iban.split()).upper()


def fingerprint(iban: str) -> str:
    """The keyed fingerprint of an IBAN (hex), the same for any spacing or case."""
    return hmac.new(_key["current"], normalize_iban(iban).encode(), hashlib.sha256).hexdigest()


def last4(iban: str) -> str:
    return normalize_iban(iban)[-4:]


def masked(last_four: str | None) -> str | None:
    """How an account is shown: ``•••• 0261``."""
    return None if not last_four else f"•••• {last_four}"


# Word sequences (normalised by :func:`regie.services.names.words`) that mark a bulk payer in a
# payer name or remittance text.
BUILT_IN_MARKERS: tuple[tuple[str, BulkPayerKind], ...] = (
    ("caisse d allocations familiales", BulkPayerKind.CAF),
    ("caisse dallocations familiales", BulkPayerKind.CAF),
    ("caf", BulkPayerKind.CAF),
    ("fonds de solidarite logement", BulkPayerKind.FSL),
    ("fonds de solidarite pour le logement", BulkPayerKind.FSL),
    ("fonds solidarite logement", BulkPayerKind.FSL),
    ("fsl", BulkPayerKind.FSL),
)


@dataclass(frozen=True)
class KnownBulkPayer:
    """A bulk payer the office registered (``bulk_payer`` table), ready for matching."""

    kind: BulkPayerKind
    iban_fingerprint: str | None
    marker: str | None


def bulk_payer_kind(
    payer_name: str | None,
    texts: Iterable[str],
    iban_fingerprint: str | None,
    registered: Iterable[KnownBulkPayer] = (),
) -> BulkPayerKind | None:
    """Whether a payment comes from a bulk payer: by a registered IBAN, else by name or text markers."""
    registered = list(registered)
    if iban_fingerprint is not None:
        for payer in registered:
            if payer.iban_fingerprint == iban_fingerprint:
                return payer.kind
    haystacks = [f" {' '.join(names.words(payer_name or ''))} "]
    haystacks += [f" {' '.join(names.words(text))} " for text in texts]
    markers = [(f" {' '.join(names.words(p.marker))} ", p.kind) for p in registered if p.marker]
    markers += [(f" {marker} ", kind) for marker, kind in BUILT_IN_MARKERS]
    for marker, kind in markers:
        if marker.strip() and any(marker in haystack for haystack in haystacks):
            return kind
    return None
