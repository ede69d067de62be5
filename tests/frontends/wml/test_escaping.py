"""Every value from data or input is escaped for XML and for WML variables, without control
characters, and spelt in ISO-8859-1 for phones that do not take UTF-8."""

from __future__ import annotations

import re

from lxml import etree

from regie.frontends.wml import decks
from regie.frontends.wml.routes import Links
from tests import factories
from tests.frontends.wml.conftest import Phone, tenant_with_payments
from tests.frontends.wml.phone import (
    assert_valid,
    decompiled,
    displayed_text,
    kannel_compiled,
)

HOSTILE = "O'Brien & $ons <x>"


async def test_a_hostile_name_displays_exactly_so_on_every_card(phone: Phone) -> None:
    tenant, _ = await tenant_with_payments(HOSTILE, "J$(p)an")
    results = await phone.post("/recherche", q="brien")
    (option,) = results.root.findall(".//option")
    assert results.displayed(option) == "O'Brien & $ons <x> J$(p)an, Moissac"
    assert b"$$ons" in results.body and b"J$$(p)an" in results.body
    account = await phone.post("/compte", c=tenant.code)
    assert "O'Brien & $ons <x> J$(p)an" in account.displayed()
    payments = await phone.post("/paiements", c=tenant.code)
    assert payments.displayed().startswith("O'Brien & $ons <x> J$(p)an (")
    for deck in (results, account, payments):
        assert_valid(deck)


async def test_through_kannels_compiler_the_name_keeps_its_dollar(phone: Phone) -> None:
    await tenant_with_payments(HOSTILE)
    results = await phone.post("/recherche", q="brien")
    source = decompiled(kannel_compiled(results))
    # wbxml2xml writes a compiled variable as $(name:noesc) and a literal dollar as $.
    assert "$(ons" not in source
    option = etree.fromstring(source.encode(), etree.XMLParser(no_network=True, load_dtd=False))
    (text,) = [o for o in option.iter("option")]
    assert "".join(text.itertext()).strip() == "O'Brien & $ons <x> Jean, Moissac"


async def test_what_the_collector_typed_is_escaped_where_it_is_echoed(phone: Phone) -> None:
    typed = "Zé <b>&$(p)"
    deck = await phone.post("/recherche", q=typed)
    assert deck.displayed() == "Aucun locataire trouvé pour\n« Zé <b>&$(p) »."
    assert_valid(deck)


def test_the_next_page_postfield_keeps_the_text_and_escapes_it() -> None:
    links = Links("/wml", "t" * 43)
    edges = [
        {
            "cursor": "bzow",
            "node": {"code": "1", "surname": "A", "firstName": "B", "dwelling": None},
        }
    ]
    body = decks.render(
        decks.UTF8,
        "results.wml",
        {"links": links, "edges": edges, "text": HOSTILE, "after": "bzow"},
    )
    suite = re.search(rb'<postfield name="q" value="([^"]*)"/>', body)
    assert suite is not None and suite.group(1) == b"O&#39;Brien &amp; $$ons &lt;x&gt;"


async def test_control_and_invisible_characters_are_removed(phone: Phone) -> None:
    await factories.tenant_with_lease(
        # PostgreSQL stores no NUL character: test_text shows clean() removes it too.
        "Bel\x07lot\u200b\u202e\x1b",
        "Ma\nrie",
        commune_name="Moissac",
    )
    results = await phone.post("/recherche", q="bellot")
    assert results.displayed(results.root.find(".//option")) == "Bellot Ma rie, Moissac"
    assert re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", results.body) is None


async def test_a_latin1_phone_gets_names_spelt_in_latin1(latin1_phone: Phone) -> None:
    await factories.tenant_with_lease("Château-Chênebœuf", "Nguyễn", commune_name="Moissac")
    deck = await latin1_phone.post("/recherche", q="chateau")
    assert deck.charset == "iso-8859-1"
    assert deck.body.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    assert deck.displayed(deck.root.find(".//option")) == "Château-Chêneboeuf Nguyen, Moissac"
    assert "Château-Chênebœuf".encode() not in deck.body  # Latin-1 bytes, not UTF-8


async def test_a_utf8_phone_gets_the_names_as_written(phone: Phone) -> None:
    await factories.tenant_with_lease("Château-Chênebœuf", "Nguyễn", commune_name="Moissac")
    deck = await phone.post("/recherche", q="chateau")
    assert deck.charset == "utf-8"
    assert deck.displayed(deck.root.find(".//option")) == "Château-Chênebœuf Nguyễn, Moissac"


def test_transliterating_never_lets_markup_or_variables_through() -> None:
    # Fullwidth forms decompose to '$', '<', '&': transliteration comes before escaping.
    body = decks.render(
        decks.LATIN1,
        "message.wml",
        {
            "links": Links("/wml", None),
            "title": "＄",
            "lines": ["＄(p) ＜b＞ ＆ €"],
            "clear_pin": False,
            "label": "OK",
            "href": "/wml/",
        },
    )
    body.decode("iso-8859-1")
    assert b"$$(p) &lt;b&gt; &amp; EUR" in body
    card = etree.fromstring(body, etree.XMLParser(no_network=True, load_dtd=False)).find("card")
    assert card is not None and displayed_text(card.get("title", "")) == "$"
