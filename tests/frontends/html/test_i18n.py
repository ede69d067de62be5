import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from regie.frontends.html import i18n, messages


def test_the_catalogues_match_the_code_and_are_compiled() -> None:
    assert messages.problems() == [], "run: python -m regie.frontends.html.messages"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "fr"),
        ("", "fr"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("en-US,en;q=0.9", "en"),
        ("en-GB;q=0.5,fr;q=0.6", "fr"),
        ("de-DE,de;q=0.9,en;q=0.3", "en"),
        ("de-DE,it", "fr"),
        ("en;q=0", "fr"),
        ("en;q=abc", "fr"),
        ("*", "fr"),
    ],
)
def test_the_language_is_french_unless_english_is_preferred(
    header: str | None, language: str
) -> None:
    assert i18n.negotiate(header) == language


def test_french_amounts_dates_and_times() -> None:
    fr = i18n.Formats.of("fr")
    assert fr.money(123456) == "1\xa0234,56\xa0€"
    assert fr.money(-3000) == "-30,00\xa0€"
    assert fr.money(0) == "0,00\xa0€"
    assert fr.number(2.5) == "2,5" and fr.number(3.0) == "3"
    assert fr.date("2026-11-26") == "26/11/2026" and fr.date(date(2026, 3, 5)) == "05/03/2026"
    # Stored in UTC, shown on the office's clock (UTC+1 in winter, UTC+2 in summer).
    assert fr.moment("2026-11-26T13:05:00+00:00") == "26/11/2026 14:05"
    assert fr.moment("2026-07-01T22:30:00+00:00") == "02/07/2026 00:30"
    now = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    assert fr.ago(now - timedelta(minutes=3), now) == "il y a 3\xa0min"
    assert fr.ago(now - timedelta(seconds=10), now) == "il y a 1\xa0min"
    assert fr.ago(now - timedelta(hours=5), now) == "il y a 5\xa0h"
    assert fr.ago(now - timedelta(days=2), now) == ""  # then the date says it better
    assert fr.ago(now + timedelta(minutes=5), now) == ""


def test_english_formats_keep_day_month_year() -> None:
    en = i18n.Formats.of("en")
    assert en.money(123456) == "€1,234.56"
    assert en.date("2026-11-26") == "26/11/2026"


def test_a_catalogue_without_its_compiled_file_is_compiled_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, copy)
    (copy / "fr" / "LC_MESSAGES" / "messages.mo").unlink()
    monkeypatch.setattr(i18n, "LOCALE_DIR", copy)
    i18n.translations.cache_clear()
    try:
        assert i18n.translations("fr").gettext("Confirmed balance") == "Solde confirmé"
    finally:
        i18n.translations.cache_clear()
