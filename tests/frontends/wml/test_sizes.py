"""Every deck compiles to at most 1,397 bytes (Nokia 7110) in the worst case, and what does not
fit goes to the next deck ("suite"), never silently away.

Two worst cases: the demo office's longest values, all distinct so that no compiler can share
them (every results deck must still hold 9 tenants); and the longest values the database holds,
where decks hold fewer items and page on.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from regie.db import ledger, tenants
from regie.db.people import Role
from regie.db.tenants import NAME_MAX_LENGTH
from regie.db.treasury import ConfirmationChannel
from regie.demo import office
from regie.frontends.wml.wbxml import size_bound
from regie.services import ledger as ledger_service
from regie.services import users
from tests import factories
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET
from tests.frontends.wml.conftest import Phone
from tests.frontends.wml.phone import (
    LIMIT,
    Deck,
    assert_well_formed_deck,
    compiled_size,
    kannel_compiled,
    sign_in,
)

DEMO_COMMUNES = Path(office.__file__).with_name("communes.csv")
LONGEST_DEMO_SURNAME = max(
    office.SPECIAL_SURNAMES, key=len
)  # Des Gachons de la Cœurderoy-Montauzié
LONGEST_DEMO_FIRST_NAME = max(office.SPECIAL_MALE_NAMES + office.SPECIAL_FEMALE_NAMES, key=len)
DEMO_ADDRESS = "78, rue du Général de Gaulle-Montauzié, bât. D, appt 16"


def words(rng: random.Random, length: int, first: str = "") -> str:
    """Distinct-looking words with accents and non-Latin-1 letters, exactly ``length`` characters."""
    letters = "abcdefghijklmnopqrstuvwxyzéèœễ"
    text = first
    while len(text) < length:
        text += (" " if text else "") + "".join(
            rng.choice(letters) for _ in range(rng.randint(3, 9))
        )
    return text[:length].rstrip() + "x" * (length - len(text[:length].rstrip()))


def longest_communes(count: int) -> list[str]:
    with DEMO_COMMUNES.open(encoding="utf-8") as file:
        names = [row["name"] for row in csv.DictReader(file)]
    return sorted(names, key=len, reverse=True)[:count]


async def collector_of(*communes: str) -> None:
    """The collector of ``tests.auth.people``, with a sector of these communes (postal codes are
    all 82000 here: every postal code has five digits)."""
    for name in communes:
        await factories.commune(name)
    await users.create_user("jldelmas", "Jean-Luc Delmas", Role.COLLECTOR, pin=COLLECTOR_PIN)
    await users.set_sector("Secteur jldelmas", "jldelmas", list(communes))
    await users.enrol_device("jldelmas", "Nokia 7110", secret=DEVICE_SECRET)


async def walk_results(phone: Phone, text: str) -> tuple[list[Deck], list[str]]:
    """Every results deck of a search, following "suite"; the tenant codes in order."""
    decks: list[Deck] = []
    codes: list[str] = []
    fields = {"q": text}
    while True:
        deck = await phone.post("/recherche", **fields)
        decks.append(deck)
        posted = deck.postfields()
        codes += [pf["value"] for pf in posted if pf["name"] == "c"]
        after = [pf["value"] for pf in posted if pf["name"] == "a"]
        if not after:
            return decks, codes
        fields = {"q": text, "a": after[0]}


def assert_fits(deck: Deck, token: str) -> int:
    assert_well_formed_deck(deck, token)  # DTD, xml2wbxml size ≤ bound ≤ 1,397, URLs
    assert len(kannel_compiled(deck)) <= LIMIT
    return compiled_size(deck)


async def test_results_of_the_demo_offices_longest_names_hold_nine_a_deck(
    db: object, client: httpx.AsyncClient
) -> None:
    rng = random.Random(7)
    communes = longest_communes(10)
    await collector_of(*communes)
    for n, commune in enumerate(communes):
        await factories.tenant_with_lease(
            words(rng, len(LONGEST_DEMO_SURNAME), "Des"),
            words(rng, len(LONGEST_DEMO_FIRST_NAME)),
            commune_name=commune,
            code=f"10{n:05d}",
        )
    token, _ = await sign_in(client)
    phone = Phone(client, token, {"Accept-Charset": "utf-8"})
    decks, codes = await walk_results(phone, "des")
    assert [len(d.root.findall(".//option")) for d in decks] == [9, 1]
    assert len(set(codes)) == 10
    for deck in decks:
        assert_fits(deck, token)


async def test_results_of_the_longest_names_the_database_holds_page_on(
    db: object, client: httpx.AsyncClient
) -> None:
    rng = random.Random(11)
    commune = words(rng, 80, "Saint")
    await collector_of(commune)
    for n in range(12):
        await factories.tenant_with_lease(
            words(rng, NAME_MAX_LENGTH, "Zorro"),
            words(rng, NAME_MAX_LENGTH),
            commune_name=commune,
            code=f"Z{n:011d}",
        )
    token, _ = await sign_in(client)
    phone = Phone(client, token, {"Accept-Charset": "utf-8"})
    decks, codes = await walk_results(phone, "zorro")
    per_deck = [len(d.root.findall(".//option")) for d in decks]
    assert sum(per_deck) == 12 and len(set(codes)) == 12  # nothing left out
    assert max(per_deck) < 9  # the size limit, not the 9 keys, cut these decks
    for deck in decks:
        assert_fits(deck, token)


async def ledger_of(lease: tenants.Lease, payments: int, amount_cents: int) -> None:
    """Billed three months; ``payments`` rejected payments (the longest line), newest last."""
    await factories.bill(lease, date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1))
    for n in range(payments):
        payment = await ledger_service.record_confirmed_payment(
            lease.id,
            amount_cents,
            ledger.PaymentMethod.CHEQUE,
            booked_on=date(2024, 1, 1 + n % 28),
            channel=ConfirmationChannel.FILE,
            source="DGFiP test",
            applied_at=datetime(2026, 11, 25, 23, 59, tzinfo=UTC),
        )
        await ledger_service.reject_payment(
            payment.id, "chèque impayé", rejected_at=datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
        )


async def account_and_payments(phone: Phone, code: str) -> tuple[Deck, list[Deck], int]:
    """The account card, every payments deck after it, and how many payments they show."""
    account = await phone.post("/compte", c=code)
    shown = account.displayed().count(" EUR rejeté")
    decks = []
    older = [pf["value"] for pf in account.postfields() if pf["name"] == "a"]
    while older:
        deck = await phone.post("/paiements", c=code, a=older[0])
        decks.append(deck)
        shown += deck.displayed().count(" EUR rejeté")
        older = [pf["value"] for pf in deck.postfields() if pf["name"] == "a"]
    return account, decks, shown


async def test_account_and_payments_of_the_demo_worst_case(
    db: object, client: httpx.AsyncClient
) -> None:
    (commune,) = longest_communes(1)
    await collector_of(commune)
    tenant, lease = await factories.tenant_with_lease(
        LONGEST_DEMO_SURNAME,
        LONGEST_DEMO_FIRST_NAME,
        commune_name=commune,
        address=DEMO_ADDRESS,
        rent_cents=9_999_999,
    )
    await tenants.Tenant.filter(id=tenant.id).update(title="Mme")
    await ledger_of(lease, 24, 9_999_999)
    token, _ = await sign_in(client)
    phone = Phone(client, token, {"Accept-Charset": "utf-8"})
    account, decks, shown = await account_and_payments(phone, tenant.code)
    # Rejected at 23:00 UTC on 31 December: already the next day in Paris.
    assert account.displayed().count(" EUR rejeté le 01/01/27") == 3
    assert [d.displayed().count(" EUR rejeté") for d in decks] == [10, 10, 1]
    assert shown == 24
    for deck in (account, *decks):
        assert_fits(deck, token)


async def test_account_and_payments_of_the_longest_values_the_database_holds(
    db: object, client: httpx.AsyncClient
) -> None:
    rng = random.Random(13)
    commune = words(rng, 80, "Saint")
    await collector_of(commune)
    tenant, lease = await factories.tenant_with_lease(
        words(rng, NAME_MAX_LENGTH),
        words(rng, NAME_MAX_LENGTH),
        commune_name=commune,
        address=words(rng, 200),
        code="Z" * 12,
        rent_cents=700_000_000,
    )
    await tenants.Tenant.filter(id=tenant.id).update(title="Mademoisel")
    await ledger_of(lease, 12, 2_000_000_000)
    token, _ = await sign_in(client)
    phone = Phone(client, token, {"Accept-Charset": "utf-8"})
    account, decks, shown = await account_and_payments(phone, tenant.code)
    assert shown == 12  # every payment, on the account card or after it
    for deck in (account, *decks):
        assert_fits(deck, token)


async def test_the_other_decks_and_messages_fit_too(phone: Phone) -> None:
    decks = [
        await phone.get("/"),
        await phone.post("/recherche", q="ễ" * 100),  # no result, echoing 100 characters
        await phone.post("/compte", c="0"),
        await phone.get("/" + "x" * 200),
    ]
    for deck in decks:
        assert_fits(deck, phone.s)


def test_the_size_bound_is_never_below_what_xml2wbxml_writes() -> None:
    # Checked on every deck above through assert_well_formed_deck; here on a deck of pure text.
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.1//EN"'
        b' "http://www.wapforum.org/DTD/wml_1.1.xml"><wml><card id="a" title="t"><p>'
        + "é".encode() * 600
        + b"</p></card></wml>"
    )
    assert compiled_size(body) <= size_bound(body)
