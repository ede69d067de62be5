"""Errors and limits: a French message on a WML card with a way back; never a trace, never HTML."""

from __future__ import annotations

import httpx
import pytest

from regie.frontends.wml import routes
from tests import factories
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET
from tests.frontends.wml.conftest import Phone, tenant_with_payments
from tests.frontends.wml.phone import Deck, assert_softkeys, assert_valid, deck_of

REFUSED = "Identifiant, code du téléphone ou code secret incorrect, ou compte verrouillé."


def assert_message(deck: Deck, text: str) -> None:
    """A message card: valid WML, the French text, an accept softkey and a prev softkey."""
    assert_valid(deck)
    assert_softkeys(deck, "")
    assert deck.card.get("id") == "m"
    assert text in deck.displayed()
    assert b"<html" not in deck.body.lower() and b"Traceback" not in deck.body


async def attempt(client: httpx.AsyncClient, username: str, device: str, pin: str) -> Deck:
    return deck_of(await client.post("/wml/connexion", data={"u": username, "d": device, "p": pin}))


async def test_every_wrong_sign_in_gets_the_one_refusal_card(
    collector: None, client: httpx.AsyncClient
) -> None:
    unknown_user = await attempt(client, "personne", DEVICE_SECRET, COLLECTOR_PIN)
    wrong_device = await attempt(client, "jldelmas", "99999999999999999999", COLLECTOR_PIN)
    wrong_pin = await attempt(client, "jldelmas", DEVICE_SECRET, "864209")
    await attempt(client, "jldelmas", DEVICE_SECRET, "864209")
    await attempt(client, "jldelmas", DEVICE_SECRET, "864209")  # the third wrong PIN locks
    locked = await attempt(client, "jldelmas", DEVICE_SECRET, COLLECTOR_PIN)
    assert_message(wrong_pin, REFUSED)
    assert unknown_user.body == wrong_device.body == wrong_pin.body == locked.body
    # Going back to the sign-in card forgets the PIN typed, keeps the username and device code.
    setvar = wrong_pin.card.find("do[@type='prev']/prev/setvar")
    assert setvar is not None and setvar.attrib == {"name": "p", "value": ""}
    assert wrong_pin.card.find("do[@type='accept']/go").get("href") == "/wml/"


async def test_too_many_attempts_are_told_to_wait(
    collector: None, client: httpx.AsyncClient
) -> None:
    for _ in range(10):
        assert_message(await attempt(client, "personne", DEVICE_SECRET, "864209"), REFUSED)
    assert_message(await attempt(client, "personne", DEVICE_SECRET, "864209"), "Trop de tentatives")


async def test_without_a_session_every_page_asks_to_sign_in_again(
    collector: None, client: httpx.AsyncClient
) -> None:
    for path in ("/wml/recherche", "/wml/compte", "/wml/paiements"):
        deck = deck_of(await client.post(path, data={"q": "bonnet", "c": "9000001"}))
        assert_message(deck, "Session expirée. Reconnectez-vous.")
        assert deck.card.find("do[@type='accept']/go").get("href") == "/wml/"


async def test_no_result(phone: Phone) -> None:
    deck = await phone.post("/recherche", q="zzyzx")
    assert_message(deck, "Aucun locataire trouvé pour\n« zzyzx ».")
    assert deck.card.find("do[@type='accept']/go").get("href") == f"/wml/?s={phone.s}"


async def test_too_many_results_asks_to_refine(phone: Phone) -> None:
    for n in range(routes.REFINE_ABOVE + 1):
        await factories.tenant_with_lease(f"Martin{n:02d}", commune_name="Moissac")
    assert_message(
        await phone.post("/recherche", q="martin"),
        "Plus de 50 locataires pour « martin ».\nPrécisez le nom ou tapez le code.",
    )
    await factories.tenant_with_lease("Marty", commune_name="Moissac")
    results = await phone.post("/recherche", q="martin0")
    assert len(results.root.findall(".//option")) == 9


async def test_a_tenant_outside_the_sector_is_just_not_found(phone: Phone) -> None:
    outside, _ = await tenant_with_payments("Delpech", commune="Montauban")
    unknown = await phone.post("/compte", c="9999999")
    hidden = await phone.post("/compte", c=outside.code)
    assert_message(hidden, "Locataire introuvable.")
    assert hidden.body == unknown.body
    assert (await phone.post("/paiements", c=outside.code)).displayed() == (
        await phone.post("/paiements", c="9999999")
    ).displayed()
    searched = await phone.post("/recherche", q="delpech")
    assert_message(searched, "Aucun locataire trouvé")


@pytest.mark.parametrize("text", ["x", " ", "y" * 101])
async def test_a_search_text_out_of_bounds_says_what_to_type(phone: Phone, text: str) -> None:
    assert_message(await phone.post("/recherche", q=text), "Tapez de 2 à 100 caractères")


async def test_a_cursor_not_ours_asks_to_search_again(phone: Phone) -> None:
    await tenant_with_payments("Bonnet")
    assert_message(await phone.post("/recherche", q="bonnet", a="!!"), "Page périmée")


async def test_an_oversized_form_is_refused_politely(phone: Phone) -> None:
    assert_message(await phone.post("/recherche", q="a" * 3000), "Saisie trop longue.")


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/wml/nulle-part"), ("GET", "/wml/compte"), ("PUT", "/wml/")]
)
async def test_an_unknown_page_or_method_gets_a_card(
    collector: None, client: httpx.AsyncClient, method: str, path: str
) -> None:
    assert_message(deck_of(await client.request(method, path)), "Page inconnue.")


async def test_an_unexpected_failure_shows_a_card_and_no_trace(
    phone: Phone, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> dict[str, object]:
        raise RuntimeError("database on fire at /srv/secret/path.py")

    monkeypatch.setattr(routes, "run", broken)
    deck = await phone.post("/compte", c="9000001")
    assert_message(deck, "Erreur du service. Réessayez plus tard.")
    assert b"secret" not in deck.body and b"fire" not in deck.body
    assert "database on fire" in caplog.text  # logged on the server side
