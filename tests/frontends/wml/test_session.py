"""The WML session works without cookies: a short-lived token in the URL, bound to the collector's
device, revocable, never the PIN; what the collector types travels in POST bodies."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette

from regie.db import auth
from regie.services import sessions, users
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET
from tests.frontends.wml.conftest import Phone, tenant_with_payments
from tests.frontends.wml.phone import deck_of, sign_in


async def test_signing_in_sets_no_cookie_and_a_cookie_free_phone_carries_on(
    collector: None, client: httpx.AsyncClient, app: Starlette
) -> None:
    response = await client.post(
        "/wml/connexion", data={"u": "jldelmas", "d": DEVICE_SECRET, "p": COLLECTOR_PIN}
    )
    assert "set-cookie" not in response.headers
    token, _ = await sign_in(client)
    tenant, _ = await tenant_with_payments("Bonnet")
    # Another client, with no cookie jar at all: only the URL carries the session.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as gateway:
        account = deck_of(await gateway.post(f"/wml/compte?s={token}", data={"c": tenant.code}))
    assert account.card.get("id") == "a" and "Bonnet" in account.displayed()


async def test_the_token_is_a_random_url_safe_secret_stored_only_as_a_digest(
    collector: None, client: httpx.AsyncClient
) -> None:
    first, _ = await sign_in(client)
    second, _ = await sign_in(client)
    assert first != second and len(first) == 43
    stored = {row.token_hash for row in await auth.Session.all()}
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in (first, second)}
    assert {row.surface for row in await auth.Session.all()} == {"wml"}


async def test_no_deck_holds_the_pin_or_the_device_code(
    collector: None, client: httpx.AsyncClient
) -> None:
    _, search = await sign_in(client)
    refused = deck_of(
        await client.post(
            "/wml/connexion", data={"u": "jldelmas", "d": DEVICE_SECRET, "p": "864209"}
        )
    )
    for deck in (search, refused):
        assert COLLECTOR_PIN.encode() not in deck.body and DEVICE_SECRET.encode() not in deck.body
        assert b"864209" not in deck.body


async def test_an_idle_session_expires_after_ten_minutes(
    phone: Phone, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = sessions.now_utc()
    monkeypatch.setattr(sessions, "now_utc", lambda: start + timedelta(minutes=9))
    assert (await phone.get()).card.get("id") == "q"
    monkeypatch.setattr(sessions, "now_utc", lambda: start + timedelta(minutes=20))
    expired = await phone.get()
    assert expired.card.get("id") == "m" and "Session expirée" in expired.displayed()


async def test_revoking_the_phone_ends_its_session_at_once(phone: Phone) -> None:
    device = await auth.Device.get(label="Nokia 7110")
    await users.revoke_device(device.id)
    deck = await phone.post("/recherche", q="bonnet")
    assert "Session expirée" in deck.displayed()


async def test_signing_out_revokes_the_token(phone: Phone) -> None:
    await phone.post("/deconnexion")
    assert await sessions.viewer_for_session(phone.s, "wml") is None
    assert "Session expirée" in (await phone.get()).displayed()


async def test_the_url_token_opens_nothing_outside_wml(phone: Phone) -> None:
    me = await phone.client.post(f"/graphql?s={phone.s}", json={"query": "{ me { username } }"})
    assert me.json()["data"]["me"] is None


async def test_an_html_session_cookie_does_not_open_a_wml_session(
    office_client: httpx.AsyncClient,
) -> None:
    deck = deck_of(await office_client.get("/wml/"))
    assert deck.card.get("id") == "c"  # the sign-in card


async def test_an_unknown_token_is_not_echoed(collector: None, client: httpx.AsyncClient) -> None:
    forged = "AAAA<x>$(p)" + "A" * 32
    deck = deck_of(await client.get("/wml/", params={"s": forged}))
    assert "Session expirée" in deck.displayed()
    assert b"AAAA" not in deck.body and deck.urls() == ["/wml/"]


async def test_links_carry_the_token_that_was_checked(phone: Phone) -> None:
    # The principal checks the first 's'; the deck's links must carry that one, not a later one.
    response = await phone.client.get(f"/wml/?s={phone.s}&s=other")
    deck = deck_of(response)
    assert deck.card.get("id") == "q"
    assert {url.partition("?")[2] for url in deck.urls() if "?" in url} == {f"s={phone.s}"}
