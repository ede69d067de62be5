"""IBAN normalisation and checks (ISO 13616), and French IBANs rebuilt from a RIB."""

from __future__ import annotations

import re
import string

_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
# RIB keys convert account letters with this table (not the IBAN's A=10 … Z=35).
_RIB_LETTERS = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "12345678912345678923456789",
)


def normalize_iban(text: str) -> str:
    """Uppercase and remove the spaces people and banks put in IBANs."""
    return "".join(text.split()).upper()


def is_valid_iban(text: str) -> bool:
    """Shape and mod-97 check of an already normalised IBAN."""
    if _IBAN_SHAPE.fullmatch(text) is None:
        return False
    return _mod97(text[4:] + text[:4]) == 1


def french_iban(bank: str, branch: str, account: str) -> str | None:
    """Build the IBAN of a French account from its RIB parts (bank 5, branch 5, account 11).

    CFONB files carry the RIB without its key; the key and the IBAN check digits are computed.
    Returns None when the parts do not have the RIB shape.
    """
    if not (len(bank) == 5 and len(branch) == 5 and len(account) == 11):
        return None
    if not (bank.isdigit() and branch.isdigit() and account.isalnum() and account.isascii()):
        return None
    digits = account.upper().translate(_RIB_LETTERS)
    key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(digits)) % 97
    bban = f"{bank}{branch}{account.upper()}{key:02d}"
    check = 98 - _mod97(bban + "FR00")
    return f"FR{check:02d}{bban}"


def _mod97(text: str) -> int:
    numeric = "".join(str(string.ascii_uppercase.index(c) + 10) if c.isalpha() else c for c in text)
    return int(numeric) % 97
