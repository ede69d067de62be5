"""No stale money: no deck may be served from a phone's or a gateway's cache."""

from __future__ import annotations

import httpx
from lxml import etree

from tests.frontends.wml.conftest import Phone, tenant_with_payments
from tests.frontends.wml.phone import deck_of


def assert_never_cached(response: httpx.Response) -> None:
    cache_control = {d.strip() for d in response.headers["cache-control"].split(",")}
    assert {"no-store", "no-cache", "max-age=0", "must-revalidate"} <= cache_control
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert "accept-charset" in response.headers["vary"].lower()
    deck = deck_of(response)
    (meta,) = deck.root.findall("head/meta")
    assert dict(meta.attrib) == {
        "http-equiv": "Cache-Control",
        "content": "max-age=0",
        "forua": "true",
    }


async def test_account_and_payment_decks_are_never_cached(phone: Phone) -> None:
    tenant, _ = await tenant_with_payments("Roques", confirmed=6)
    s = {"s": phone.s}
    account = await phone.client.post("/wml/compte", params=s, data={"c": tenant.code})
    assert_never_cached(account)
    older = {pf.get("name"): pf.get("value") for pf in deck_of(account).root.iter("postfield")}
    payments = await phone.client.post(
        "/wml/paiements", params=s, data={"c": tenant.code, "a": str(older["a"])}
    )
    assert_never_cached(payments)
    assert "EUR" in etree.tostring(deck_of(payments).root, encoding="unicode")


async def test_no_other_deck_is_cached_either(phone: Phone) -> None:
    await tenant_with_payments("Roques")
    s = {"s": phone.s}
    for response in (
        await phone.client.get("/wml/"),
        await phone.client.get("/wml/", params=s),
        await phone.client.post("/wml/recherche", params=s, data={"q": "roques"}),
        await phone.client.post("/wml/recherche", params=s, data={"q": "zzyzx"}),
        await phone.client.post("/wml/compte", params=s, data={"c": "0"}),
        await phone.client.get("/wml/nulle-part"),
    ):
        assert_never_cached(response)
