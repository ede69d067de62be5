"""What WAP phones can display: clean text, ISO-8859-1 transliteration, French amounts and dates.

Every value a deck shows passes through :func:`clean` (control and format characters out) and,
for phones that do not accept UTF-8, :func:`to_latin1`. Amounts are written ``1 234,56 EUR``
(many WAP phones lack the euro glyph), dates ``26/11/26``, times in the office's time zone.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

OFFICE_TIMEZONE = ZoneInfo("Europe/Paris")
"""The office's clock (the same zone as ``regie.services.clock``, which frontends do not import)."""

# Characters outside ISO-8859-1 that Unicode decomposition does not reduce to Latin letters.
_LATIN1_SPELLINGS = {
    "œ": "oe", "Œ": "OE", "€": "EUR", "Ÿ": "Y", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
    "ı": "i", "ŀ": "l", "Ŀ": "L", "ſ": "s", "ẞ": "SS", "ŋ": "n", "Ŋ": "N", "ħ": "h", "Ħ": "H",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"', "″": '"',
    "‹": "<", "›": ">", "–": "-", "—": "-", "‐": "-", "‑": "-", "‒": "-", "−": "-",
    "…": "...", "•": "*", "·": ".",
}  # fmt: skip
_REMOVED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
_SPACES = {"\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"}


def clean(text: str) -> str:
    """``text`` without control, format, private-use or unassigned characters; line breaks become spaces."""
    if text.isascii() and text.isprintable():
        return text
    kept = []
    for char in text:
        if char in _SPACES:
            kept.append(" ")
        elif unicodedata.category(char) not in _REMOVED_CATEGORIES:
            kept.append(char)
    return "".join(kept)


def to_latin1(text: str) -> str:
    """``text`` spelt with ISO-8859-1 characters only: ``œ`` → ``oe``, ``€`` → ``EUR``, ``ễ`` → ``e``.

    What has no Latin spelling (other scripts) becomes ``?``. The result may contain ``$``, ``<``
    or ``&`` (fullwidth forms decompose to them): escape after transliterating, never before.
    """
    if all(ord(char) < 256 for char in text):
        return text
    spelt = []
    for char in text:
        if ord(char) < 256:
            spelt.append(char)
        elif char in _LATIN1_SPELLINGS:
            spelt.append(_LATIN1_SPELLINGS[char])
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            spelt.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(spelt)


def euros(cents: int) -> str:
    """``123456`` → ``1 234,56 EUR``; a credit is negative: ``-12,00 EUR``."""
    sign = "-" if cents < 0 else ""
    units, hundredths = divmod(abs(cents), 100)
    return f"{sign}{units:,}".replace(",", " ") + f",{hundredths:02d} EUR"


def months(value: float) -> str:
    """``2.25`` → ``2,3 mois`` (one decimal, French comma)."""
    return f"{value:.1f}".replace(".", ",") + " mois"


def short_date(value: str | date | None) -> str:
    """An ISO date (as GraphQL returns it) → ``26/11/26``."""
    if value is None:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return day.strftime("%d/%m/%y")


def short_date_time(value: str | datetime | None) -> str:
    """An ISO date-time in UTC → the office's local ``26/11/26 14:05``."""
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(OFFICE_TIMEZONE).strftime("%d/%m/%y %H:%M")


def office_date(value: str | datetime | None) -> str:
    """An ISO date-time in UTC → the office's calendar day, ``26/11/26``."""
    return short_date_time(value)[:8]
