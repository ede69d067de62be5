"""Exact decimal-string → integer-cents conversion (no float anywhere)."""

from __future__ import annotations

MAX_INTEGER_DIGITS = 15
"""Digits an amount may have before its decimal point: a thousand billion euros, far beyond any
rent, and cents that fit a 64-bit column. A longer text (a file can hold one of any length) is
refused before `int` reads it: from 4,300 digits on, `int` refuses it with a ValueError of its
own, which ended the whole file's reading."""


class AmountError(ValueError):
    """The text is not an amount that can be expressed in whole cents."""


def decimal_to_cents(text: str) -> int:
    """Convert an unsigned decimal string using `.` as separator ("512.3", "12", "0.50") to cents.

    Extra fraction digits are accepted only when they are zeros ("12.500"), since a sub-cent amount
    cannot be booked.
    """
    # The shape `\d+(\.\d+)?` checked without a regular expression (a camt file has one amount or
    # two per entry): `str.isdecimal` accepts exactly the characters `\d` matches, the Unicode
    # decimal digits, which `int` reads too; it is False for an empty text.
    integer, point, fraction = text.partition(".")
    if not integer.isdecimal() or (point and not fraction.isdecimal()):
        raise AmountError(f"'{_shown(text)}' is not a decimal amount")
    if len(integer) > MAX_INTEGER_DIGITS:
        integer = integer.lstrip("0") or "0"  # zeros in front count for nothing
        if len(integer) > MAX_INTEGER_DIGITS:
            raise AmountError(
                f"'{_shown(text)}' has more than {MAX_INTEGER_DIGITS} digits before the decimal "
                "point"
            )
    if len(fraction) == 2:  # the usual "512.30": nothing to pad or to check
        return int(integer) * 100 + int(fraction)
    return _combine(integer, fraction, text)


def scaled_to_cents(units: int, decimals: int) -> int:
    """Convert an integer count of 10^-decimals units (CFONB style) to cents."""
    if decimals <= 2:
        factor: int = 10 ** (2 - decimals)
        return units * factor
    divisor: int = 10 ** (decimals - 2)
    if units % divisor:
        raise AmountError(f"{units} with {decimals} decimals is not a whole number of cents")
    return units // divisor


def _shown(text: str) -> str:
    """An amount's text as an error message quotes it: cut when it is very long."""
    return text if len(text) <= 40 else f"{text[:20]}…{text[-10:]} ({len(text)} characters)"


def _combine(integer: str, fraction: str, original: str) -> int:
    if fraction[2:].strip("0"):
        raise AmountError(f"'{_shown(original)}' has more than two decimals")
    return int(integer) * 100 + int(fraction[:2].ljust(2, "0"))
