"""The office's clock. Times are stored in UTC; 'today' is the office's calendar day in Paris."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

OFFICE_TIMEZONE = ZoneInfo("Europe/Paris")


def now_utc() -> datetime:
    return datetime.now(UTC)


def office_today() -> date:
    return datetime.now(OFFICE_TIMEZONE).date()
