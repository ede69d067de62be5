"""Languages of the HTML pages and how they write numbers, amounts, dates and times.

French is the interface's language; English is offered to browsers that prefer it (by
``Accept-Language``). Messages are English msgids translated through gettext catalogues kept in
``locale/`` (``messages.pot``, ``<lang>/LC_MESSAGES/messages.po`` and the compiled ``.mo``;
``python -m regie.frontends.html.messages`` rebuilds them). Formats come from Babel's CLDR data:
``1 234,56 €``, ``26/11/2026``, ``il y a 3 min``.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_skeleton, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"
DEFAULT_LANGUAGE = "fr"
LANGUAGES = {"fr": "fr_FR", "en": "en_GB"}
"""Interface language → the Babel locale of its formats (English keeps day/month/year dates)."""

OFFICE_TIMEZONE = ZoneInfo("Europe/Paris")
"""Times are stored in UTC and shown on the office's clock."""

RECENT = timedelta(hours=24)
"""Within this, a moment is also told relatively ("il y a 3 min")."""

# Babel writes French group separators as U+202F (narrow no-break space), which the fonts of
# many feature phones lack; U+00A0 (no-break space) is in every font and still never breaks.
_NARROW_NO_BREAK_SPACE = "\u202f"
_NO_BREAK_SPACE = "\u00a0"


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


def negotiate(accept_language: str | None) -> str:
    """The interface language for an ``Accept-Language`` header: French unless English is preferred."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, parameters = item.strip().partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, tag.strip().lower().split("-")[0]))
    for _, _, language in sorted(ranked):
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


@cache
def translations(language: str) -> gettext.GNUTranslations:
    """The compiled catalogue of ``language``, or the ``.po`` compiled in memory if the ``.mo`` is missing."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    compiled = folder / f"{DOMAIN}.mo"
    if compiled.exists():
        with compiled.open("rb") as file:
            return gettext.GNUTranslations(file)
    with (folder / f"{DOMAIN}.po").open("rb") as file:
        catalog = read_po(file, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _as_date(value: date | str) -> date:
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        return value.astimezone(OFFICE_TIMEZONE).date()
    return value


def _as_datetime(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Formats:
    """How one language writes values; the templates use these as filters."""

    locale: Locale

    @classmethod
    def of(cls, language: str) -> Formats:
        return cls(Locale.parse(LANGUAGES[language]))

    def money(self, cents: int) -> str:
        """``123456`` → ``1 234,56 €``."""
        text = format_currency(cents / 100, "EUR", locale=self.locale)
        return text.replace(_NARROW_NO_BREAK_SPACE, _NO_BREAK_SPACE)

    def number(self, value: float) -> str:
        """``2.5`` → ``2,5``; ``2.0`` → ``2``."""
        text = format_decimal(value, format="#,##0.#", locale=self.locale)
        return text.replace(_NARROW_NO_BREAK_SPACE, _NO_BREAK_SPACE)

    def date(self, value: date | str | None) -> str:
        """``2026-11-26`` → ``26/11/2026`` (a moment is first put on the office's clock)."""
        if value is None:
            return ""
        return format_skeleton("yMMdd", _as_date(value), locale=self.locale)

    def moment(self, value: datetime | str | None) -> str:
        """A UTC moment on the office's clock: ``26/11/2026 14:05``."""
        if value is None:
            return ""
        local = _as_datetime(value).astimezone(OFFICE_TIMEZONE)
        day = format_skeleton("yMMdd", local.date(), locale=self.locale)
        return f"{day} {format_skeleton('Hm', local, locale=self.locale)}"

    def ago(self, value: datetime | str | None, now: datetime | None = None) -> str:
        """``il y a 3 min`` for a moment within :data:`RECENT`, else an empty string."""
        if value is None:
            return ""
        elapsed = (now or datetime.now(UTC)) - _as_datetime(value)
        if elapsed < timedelta(0) or elapsed > RECENT:
            return ""
        if elapsed < timedelta(minutes=1):
            elapsed = timedelta(minutes=1)
        return format_timedelta(
            -elapsed, granularity="minute", threshold=1, add_direction=True, format="short",
            locale=self.locale,
        ).replace(_NARROW_NO_BREAK_SPACE, _NO_BREAK_SPACE)  # fmt: skip

    def recent(self, value: datetime | str | None, now: datetime | None = None) -> bool:
        return bool(self.ago(value, now))
