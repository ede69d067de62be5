"""The collector's whole path on a WAP phone: sign in, search, pick, read the account, page the payments."""

from __future__ import annotations

import httpx

from tests import factories
from tests.frontends.wml.conftest import Phone, tenant_with_payments
from tests.frontends.wml.phone import assert_softkeys, assert_well_formed_deck, deck_of, sign_in


async def test_a_collector_walks_the_whole_path(collector: None, client: httpx.AsyncClient) -> None:
    tenant, _ = await tenant_with_payments("Lacombe", "Émile", confirmed=8, declared=2, rejected=2)
    for n in range(11):
        await factories.tenant_with_lease(f"Lacoste{n:02d}", commune_name="Moissac")

    sign_in_deck = deck_of(await client.get("/wml/"))
    assert_well_formed_deck(sign_in_deck, None)
    assert_softkeys(sign_in_deck, "")
    assert sign_in_deck.card.get("newcontext") == "true"
    assert {i.get("name"): i.get("type", "text") for i in sign_in_deck.root.iter("input")} == {
        "u": "text",
        "d": "text",
        "p": "password",
    }
    (go,) = sign_in_deck.root.iter("go")
    assert go.get("method") == "post" and go.get("href") == "/wml/connexion"
    assert {pf["name"]: pf["value"] for pf in sign_in_deck.postfields()} == {
        "u": "$(u)",
        "d": "$(d)",
        "p": "$(p)",
    }

    token, search = await sign_in(client)
    assert len(token) == 43
    home = f"/wml/?s={token}"
    assert_well_formed_deck(search, token)
    assert_softkeys(search, "")
    assert search.card.get("newcontext") == "true"  # forgets the typed PIN and device code
    numeric = search.root.find("card[@id='n']//input")
    assert numeric is not None and numeric.get("format") == "*N"  # keypad in numeric mode

    phone = Phone(client, token, {"Accept-Charset": "utf-8"})
    first = await phone.post("/recherche", q="lac")
    assert_well_formed_deck(first, token)
    assert_softkeys(first, home)
    options = first.root.findall(".//select/option")
    assert len(options) == 9
    assert first.displayed(options[0]) == "Lacombe Émile, Moissac"
    assert {pf["name"]: pf["value"] for pf in first.postfields()[:1]} == {"c": tenant.code}

    suite = [pf for pf in first.postfields() if pf["name"] in ("q", "a")]
    assert suite[0] == {"name": "q", "value": "lac"}
    second = await phone.post("/recherche", q="lac", a=suite[1]["value"])
    assert_well_formed_deck(second, token)
    names = [second.displayed(o) for o in second.root.findall(".//select/option")]
    assert names == [
        "Lacoste08 Jean, Moissac",
        "Lacoste09 Jean, Moissac",
        "Lacoste10 Jean, Moissac",
    ]
    assert "Suite" not in second.displayed()

    account = await phone.post("/compte", c=tenant.code)
    assert_well_formed_deck(account, token)
    assert_softkeys(account, home)
    shown = account.displayed()
    for line in (
        "M. Lacombe Émile",
        f"Code {tenant.code}",
        "Solde confirmé : ",
        "Solde attendu : ",
        "Impayé : ",
        " mois",
        "Part locataire : 450,00 EUR/mois",
        "Trésor au ",
        "Derniers paiements :",
    ):
        assert line in shown
    assert shown.count(" EUR déclaré") == 2 and shown.count("EUR rejeté le 20/10/26") == 1
    older = {pf["name"]: pf["value"] for pf in account.postfields()}
    assert older["c"] == tenant.code

    payments = await phone.post("/paiements", c=tenant.code, a=older["a"])
    assert_well_formed_deck(payments, token)
    assert_softkeys(payments, home)
    lines = payments.displayed().split("EUR")
    assert len(lines) - 1 == 9  # 12 payments, 3 on the account card
    assert payments.displayed().count("rejeté le 20/10/26") == 1
    assert payments.displayed().count("EUR confirmé") == 8
    assert "Suite" not in payments.displayed()

    back = await phone.get("/")
    assert back.card.get("id") == "q"  # the search card, in one key from any card

    signed_out = deck_of(await client.post(f"/wml/deconnexion?s={token}"))
    assert signed_out.card.get("id") == "c" and "déconnecté" in signed_out.displayed()
    after = await phone.get("/")
    assert "Session expirée" in after.displayed()


async def test_a_payment_line_says_how_the_treasury_saw_it(phone: Phone) -> None:
    tenant, _ = await tenant_with_payments(
        "Vidal", confirmed=1, declared=1, rejected=1, amount_cents=123456
    )
    account = await phone.post("/compte", c=tenant.code)
    shown = account.displayed()
    assert "03/11/26 1 234,56 EUR déclaré" in shown
    assert "02/09/26 1 234,56 EUR rejeté le 20/10/26" in shown
    assert "01/08/26 1 234,56 EUR confirmé" in shown
    assert "Autres paiements" not in shown


async def test_a_code_typed_on_the_keypad_finds_the_tenant(phone: Phone) -> None:
    tenant, _ = await tenant_with_payments("Fabre")
    results = await phone.post("/recherche", q=tenant.code)
    assert [results.displayed(o) for o in results.root.findall(".//option")] == [
        "Fabre Jean, Moissac"
    ]
