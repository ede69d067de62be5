"""Exact decimal-string → integer-cents conversion (no float anywhere)."""

from __future__ import annotations

import re

_DECIMAL = re.compile(r"(?P<int>\d+)(?:\.(?P<frac>\d+))?")


class AmountError(ValueError):
    """The text is not an amount that can be expressed in whole cents."""


def decimal_to_cents(text: str) -> int:
    """Convert an unsigned decimal string using `.` as separator ("512.3", "12", "0.50") to cents.

    Extra fraction digits are accepted only when they are zeros ("12.500"), since a sub-cent amount
    cannot be booked.
    """
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise AmountError(f"'{text}' is not a decimal amount")
    return _combine(match["int"], match["frac"] or "", text)


def scaled_to_cents(units: int, decimals: int) -> int:
    """Convert an integer count of 10^-decimals units (CFONB style) to cents."""
    if decimals <= 2:
        factor: int = 10 ** (2 - decimals)
        return units * factor
    divisor: int = 10 ** (decimals - 2)
    if units % divisor:
        raise AmountError(f"{units} with {decimals} decimals is not a whole number of cents")
    return units // divisor


def _combine(integer: str, fraction: str, original: str) -> int:
    if fraction[2:].strip("0"):
        raise AmountError(f"'{original}' has more than two decimals")
    return int(integer) * 100 + int(fraction[:2].ljust(2, "0"))
