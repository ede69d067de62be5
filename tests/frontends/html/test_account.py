import re
import shutil
import subprocess
from typing import Any

import httpx
import pytest
from lxml import etree

from regie.frontends.html.i18n import Formats
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET, missing
from tests.frontends.html import office, pages

WML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
ACCOUNT = """
query ($code: String!) {
  tenant(code: $code) {
    account { confirmedBalanceCents expectedBalanceCents arrearsCents arrearsDays arrearsMonths
      tenantShareCents nextDueDate asOf }
  }
}
"""


async def graphql_account(client: httpx.AsyncClient, code: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": ACCOUNT, "variables": {"code": code}})
    account: dict[str, Any] = response.json()["data"]["tenant"]["account"]
    return account


async def test_the_account_shows_the_figures_graphql_gives(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    page = await collector.get(f"/locataires/{household.code}")
    assert page.status_code == 200
    pages.check_page(page.text)
    text = pages.text_of(page.text)
    account = await graphql_account(collector, household.code)
    fr = Formats.of("fr")
    for expected in (
        f"Solde confirmé {fr.money(account['confirmedBalanceCents'])}",
        f"Solde attendu {fr.money(account['expectedBalanceCents'])}",
        f"Impayé {fr.money(account['arrearsCents'])} · {fr.number(account['arrearsMonths'])} mois",
        f"Depuis {account['arrearsDays']} jours",
        f"Part locataire {fr.money(account['tenantShareCents'])}/mois",
        f"Échéance {fr.date(account['nextDueDate'])}",
        f"Situation au {fr.moment(account['asOf'])}",
    ):
        assert pages.squash(expected) in text


async def test_the_account_reads_as_a_collector_expects_in_french(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    page = await collector.get(f"/locataires/{household.code}")
    text = pages.text_of(page.text)
    assert "DELAUNAY-RIBÈRE Émile" in text
    assert f"M. · {household.code} {household.moissac_address}, 82000 Moissac" in text
    assert f"Solde confirmé {office.CONFIRMED_BALANCE}" in text
    assert f"Solde attendu {office.EXPECTED_BALANCE}" in text
    assert f"Impayé {office.CONFIRMED_BALANCE} · {office.ARREARS_MONTHS}" in text
    assert f"Part locataire {office.TENANT_SHARE}" in text
    assert "À signaler à la CAF" in text
    assert "(il y a 1 min)" in text or "(il y a 2 min)" in text
    # The latest three payments, newest first, each with its status.
    assert "espèces, en attente de la trésorerie" in text
    assert "virement, confirmé il y a" in text
    assert "chèque, rejeté le" in text
    assert "Tous les paiements" in text
    title = pages.parse(page.text).find("head/title")
    assert title is not None and title.text == f"Compte {household.code} – Régie"


async def test_amounts_use_no_break_spaces(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    page = await collector.get(f"/locataires/{household.code}")
    assert "2\xa0020,35\xa0€" in page.text
    assert "\u202f" not in page.text  # not in every phone font


async def test_english_is_served_to_browsers_that_prefer_it(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    page = await collector.get(
        f"/locataires/{household.code}", headers={"accept-language": "en-GB,en;q=0.9,fr;q=0.5"}
    )
    assert page.headers["content-language"] == "en"
    document = pages.check_page(page.text)
    assert document.get("lang") == "en"
    text = pages.text_of(page.text)
    assert "Confirmed balance €2,020.35" in text
    assert "Arrears €2,020.35 · 3 months" in text
    assert "cash, awaiting the treasury" in text


async def test_french_is_the_default(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    for language in ("", "de-DE,de", "*"):
        page = await collector.get(
            f"/locataires/{household.code}", headers={"accept-language": language}
        )
        assert page.headers["content-language"] == "fr"
        assert "Solde confirmé" in page.text


async def test_an_unknown_code_and_a_tenant_outside_the_sectors_look_the_same(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    outside = await collector.get(f"/locataires/{household.outsider_code}")
    unknown = await collector.get("/locataires/7799999")
    assert outside.status_code == unknown.status_code == 404
    assert outside.text == unknown.text
    pages.check_page(outside.text)
    assert "Aucun locataire sous ce code" in outside.text


async def test_pages_of_tenant_data_are_never_cached(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    for path in ("/", f"/locataires/{household.code}", f"/locataires/{household.code}/paiements"):
        response = await collector.get(path)
        assert response.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in response.headers["content-security-policy"]


def _render(command: list[str], markup: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed text browsers
        command, input=markup.encode(), capture_output=True, timeout=60, check=True
    )
    return " ".join(done.stdout.decode().split())


@pytest.mark.parametrize(
    "command",
    [
        [
            "lynx",
            "-dump",
            "-stdin",
            "-force_html",
            "-nolist",
            "-display_charset=UTF-8",
            "-width=60",
        ],
        ["w3m", "-dump", "-T", "text/html", "-I", "UTF-8", "-O", "UTF-8", "-cols", "60"],
    ],
    ids=["lynx", "w3m"],
)
async def test_a_text_browser_shows_the_key_figures(
    collector: httpx.AsyncClient, household: office.Household, command: list[str]
) -> None:
    if shutil.which(command[0]) is None:
        missing(f"{command[0]} is not installed (apt-get install {command[0]})")
    page = await collector.get(f"/locataires/{household.code}")
    shown = _render(command, page.text).replace("\xa0", " ")
    for expected in (
        "DELAUNAY-RIBÈRE Émile",
        f"Solde confirmé {office.CONFIRMED_BALANCE}",
        f"Solde attendu {office.EXPECTED_BALANCE}",
        f"Impayé {office.CONFIRMED_BALANCE} · {office.ARREARS_MONTHS}",
        f"Part locataire {office.TENANT_SHARE}",
        "Situation au",
        "en attente de la trésorerie",
        "Tous les paiements",
    ):
        assert expected in shown, f"{command[0]} does not show {expected!r}:\n{shown}"


async def test_the_account_shows_the_figures_of_the_wml_deck(
    collector: httpx.AsyncClient, household: office.Household, client: httpx.AsyncClient
) -> None:
    """Same tenant, same figures on a WAP phone (WML writes ``2 020,35 EUR``) and here."""
    signed_in = await client.post(
        "/wml/connexion", data={"u": "jldelmas", "d": DEVICE_SECRET, "p": COLLECTOR_PIN}
    )
    token = re.search(r"[?&]amp;s=([\w-]+)|[?&]s=([\w-]+)", signed_in.text)
    assert token is not None, signed_in.text
    deck = await client.post(
        f"/wml/compte?s={token.group(1) or token.group(2)}", data={"c": household.code}
    )
    assert deck.status_code == 200
    wml = pages.squash(" ".join(etree.fromstring(deck.content, WML_PARSER).itertext()))
    html = pages.text_of((await collector.get(f"/locataires/{household.code}")).text)
    for label in ("Solde confirmé", "Solde attendu", "Impayé", "Part locataire"):
        in_wml = re.search(rf"{label} : (-?[\d ]+,\d\d) EUR", wml)
        assert in_wml is not None, (label, wml)
        assert f"{label} {in_wml.group(1)} €" in html
