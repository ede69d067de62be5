"""Clean text, Latin-1 spelling, amounts, dates and the phone's charset."""

from __future__ import annotations

from datetime import date

import pytest

from regie.frontends.wml import decks, text


@pytest.mark.parametrize(
    ("written", "latin1"),
    [
        ("Château-Chênebœuf", "Château-Chêneboeuf"),
        ("ŒUVRE", "OEUVRE"),
        ("Nguyễn", "Nguyen"),
        ("12 €", "12 EUR"),
        ("Łukasz Wałęsa", "Lukasz Walesa"),
        ("Öztürk Müller", "Öztürk Müller"),
        ("l’école — «oui»…", "l'école - «oui»..."),
        ("Ⅻ ﬁn", "XII fin"),
        ("Ωμέγα 東京", "????? ??"),
    ],
)
def test_text_is_spelt_in_latin1(written: str, latin1: str) -> None:
    assert text.to_latin1(written) == latin1
    latin1.encode("iso-8859-1")


def test_control_format_and_private_characters_are_removed() -> None:
    assert (
        text.clean("a\x00b\x07c\x1bd\x7fe\x85f\u200bg\u202eh\ue000i\tj\r\nk") == "abcde fghi j  k"
    )
    assert text.clean("plain ASCII, unchanged") == "plain ASCII, unchanged"


@pytest.mark.parametrize(
    ("cents", "written"),
    [
        (0, "0,00 EUR"),
        (5, "0,05 EUR"),
        (123456, "1 234,56 EUR"),
        (-2147483648, "-21 474 836,48 EUR"),
        (100000000, "1 000 000,00 EUR"),
    ],
)
def test_amounts_are_written_the_french_way_without_the_euro_glyph(
    cents: int, written: str
) -> None:
    assert text.euros(cents) == written


def test_months_dates_and_times() -> None:
    assert text.months(2.3) == "2,3 mois"  # the API rounds to one decimal already
    assert text.months(0) == "0,0 mois"
    assert text.short_date("2026-11-26") == "26/11/26"
    assert text.short_date(date(2027, 1, 5)) == "05/01/27"
    # UTC from GraphQL, shown on the office's clock (Paris: UTC+1 in winter, +2 in summer).
    assert text.short_date_time("2026-11-26T23:30:00+00:00") == "27/11/26 00:30"
    assert text.short_date_time("2026-07-01T08:05:00+00:00") == "01/07/26 10:05"
    assert text.office_date("2026-10-20T23:30:00+00:00") == "21/10/26"
    assert text.short_date(None) == "" and text.short_date_time(None) == ""


@pytest.mark.parametrize(
    ("header", "charset"),
    [
        (None, decks.LATIN1),
        ("", decks.LATIN1),
        ("iso-8859-1", decks.LATIN1),
        ("ISO-8859-1, UTF-8", decks.UTF8),
        ("utf-8;q=0.5, iso-8859-1", decks.UTF8),
        ("iso-8859-1, utf-8;q=0", decks.LATIN1),
        ("*", decks.UTF8),
        ("*;q=0.1", decks.UTF8),
        ("iso-8859-1, *;q=0", decks.LATIN1),
        ("utf-8;q=bogus", decks.LATIN1),
        ("us-ascii, iso-8859-1", decks.LATIN1),
    ],
)
def test_utf8_only_when_the_phone_says_it_accepts_it(header: str | None, charset: str) -> None:
    assert decks.accepted_charset(header) == charset
