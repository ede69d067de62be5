"""Date parsing shared by the readers: strict, so an impossible date is reported, not guessed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:\d{2})?")
_FRENCH_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})")
_DDMMYY = re.compile(r"(\d{2})(\d{2})(\d{2})")
# French banks and treasuries write local times without an offset.
_BANK_TIME_ZONE = ZoneInfo("Europe/Paris")


def parse_iso_date(text: str) -> date:
    """`YYYY-MM-DD`, optionally followed by a time-zone offset as xs:date allows."""
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        raise ValueError(text)
    return date(int(match[1]), int(match[2]), int(match[3]))


def parse_iso_datetime(text: str) -> datetime:
    """An xs:dateTime; a value without offset is taken as French local time. Returns UTC."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?", text):
        raise ValueError(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_BANK_TIME_ZONE)
    return moment.astimezone(UTC)


def parse_french_or_iso_date(text: str) -> date:
    """`DD/MM/YYYY` or `YYYY-MM-DD`."""
    match = _FRENCH_DATE.fullmatch(text)
    if match is not None:
        return date(int(match[3]), int(match[2]), int(match[1]))
    return parse_iso_date(text)


def parse_ddmmyy(text: str) -> date:
    """CFONB `DDMMYY`; every two-digit year is in this century (statements are recent)."""
    match = _DDMMYY.fullmatch(text)
    if match is None:
        raise ValueError(text)
    return date(2000 + int(match[3]), int(match[2]), int(match[1]))
