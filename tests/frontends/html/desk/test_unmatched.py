"""The unmatched queue: items with their suggestions and why, match (suggested or searched), dismiss."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from regie.db import ledger, matching
from tests import factories
from tests.frontends.html import pages
from tests.frontends.html.desk.test_imports import upload
from tests.treasury.bankfiles import Tx, camt054

pytestmark = pytest.mark.usefixtures("db")

URL = "/office/rapprochements"
PAYER_IBAN = "FR7630003036200005091234507"


async def queued(desk: httpx.AsyncClient) -> str:
    """Through the upload form: a 450 € transfer from 'M JEAN MARTIN' with no reference, and a
    CAF credit; returns the transfer's item id."""
    _, lease = await factories.tenant_with_lease("Martin", "Jean", code="1004300")
    await factories.bill(lease, date(2026, 3, 1))
    await factories.tenant_with_lease("Durand", "Paul", code="1004400")
    data = camt054(
        [
            Tx("450.00", "Q1", booked=date(2026, 3, 5), payer="M JEAN MARTIN",
               payer_iban=PAYER_IBAN, ustrd=("LOYER MARS",)),
            Tx("3210.00", "Q2", payer="CAF DE TARN ET GARONNE", ustrd=("AL MARS 2026",)),
        ]
    )  # fmt: skip
    response = await upload(desk, ("releve.xml", data))
    assert response.status_code == 200
    item = await matching.UnmatchedItem.get(amount_cents=45000)
    return str(item.id)


def article(markup: str, item_id: str) -> str:
    document = pages.parse(markup)
    found = document.find(f".//article[@id='e{item_id}']")
    assert found is not None, f"item {item_id} is listed"
    return pages.squash(" ".join(found.itertext()))


async def test_an_item_shows_payer_amount_dates_remittance_and_scored_suggestions(
    desk: httpx.AsyncClient,
) -> None:
    item_id = await queued(desk)
    response = await desk.get(URL)
    assert response.status_code == 200
    pages.check_page(response.text)
    text = article(response.text, item_id)
    assert "450,00 € · M JEAN MARTIN" in text
    assert "05/03/2026" in text and "LOYER MARS" in text
    assert "•••• 4507" in text and PAYER_IBAN not in response.text
    assert "aucune référence ne désigne un locataire" in text
    assert "MARTIN Jean" in text and "1004300" in text
    assert "nom MARTIN dans le nom du payeur" in text
    assert "%" in text


async def test_bulk_payers_are_shown_apart(desk: httpx.AsyncClient) -> None:
    await queued(desk)
    document = pages.parse((await desk.get(URL)).text)
    headings = [pages.squash("".join(h.itertext())) for h in document.iter("h2")]
    assert headings == ["Paiements des ménages", "Payeurs collectifs (CAF, FSL…)"]
    main = pages.text_of((await desk.get(URL)).text)
    bulk_part = main.split("Payeurs collectifs (CAF, FSL…)")[1]
    assert "3 210,00 € · CAF DE TARN ET GARONNE (CAF)" in bulk_part
    assert "450,00 €" not in bulk_part


async def test_matching_a_suggestion_confirms_the_payment(desk: httpx.AsyncClient) -> None:
    item_id = await queued(desk)
    page = await desk.get(URL)
    response = await desk.post(
        f"{URL}/{item_id}/rapprocher",
        data={"csrf": pages.csrf_of(page.text), "code": "1004300", "memoriser": "1"},
    )
    assert response.status_code == 303
    after = await desk.get(response.headers["location"])
    assert "L’opération a été imputée au locataire 1004300." in pages.text_of(after.text)
    assert f'id="e{item_id}"' not in after.text
    payment = await ledger.Payment.get(lease__tenant__code="1004300")
    assert payment.amount_cents == 45000
    assert (await matching.UnmatchedItem.get(id=item_id)).status == matching.UnmatchedStatus.MATCHED


async def test_a_tenant_found_by_the_inline_search_can_be_matched(desk: httpx.AsyncClient) -> None:
    item_id = await queued(desk)
    token = pages.csrf_of((await desk.get(URL)).text)
    found = await desk.post(f"{URL}/{item_id}/recherche", data={"csrf": token, "q": "durand"})
    assert found.status_code == 200
    pages.check_page(found.text)
    text = article(found.text, item_id)
    assert "Locataires trouvés" in text and "DURAND Paul" in text
    response = await desk.post(
        f"{URL}/{item_id}/rapprocher", data={"csrf": token, "code": "1004400"}
    )
    assert response.status_code == 303
    assert await ledger.Payment.filter(lease__tenant__code="1004400").count() == 1


async def test_a_search_text_too_short_is_explained_next_to_the_item(
    desk: httpx.AsyncClient,
) -> None:
    item_id = await queued(desk)
    token = pages.csrf_of((await desk.get(URL)).text)
    response = await desk.post(f"{URL}/{item_id}/recherche", data={"csrf": token, "q": "d"})
    assert response.status_code == 400
    assert "Saisissez de 2 à 100 caractères" in article(response.text, item_id)


async def test_dismissing_needs_a_reason_and_closes_the_item(desk: httpx.AsyncClient) -> None:
    item_id = await queued(desk)
    token = pages.csrf_of((await desk.get(URL)).text)
    refused = await desk.post(f"{URL}/{item_id}/ecarter", data={"csrf": token, "motif": " "})
    assert refused.status_code == 400
    assert "pourquoi cette opération ne concerne aucun locataire" in article(refused.text, item_id)
    response = await desk.post(
        f"{URL}/{item_id}/ecarter", data={"csrf": token, "motif": "Virement interne"}
    )
    assert response.status_code == 303
    after = await desk.get(response.headers["location"])
    assert "L’opération a été écartée." in after.text
    item = await matching.UnmatchedItem.get(id=item_id)
    assert (item.status, item.dismiss_reason) == (
        matching.UnmatchedStatus.DISMISSED,
        "Virement interne",
    )


async def test_matching_to_an_unknown_tenant_says_why_and_changes_nothing(
    desk: httpx.AsyncClient,
) -> None:
    item_id = await queued(desk)
    token = pages.csrf_of((await desk.get(URL)).text)
    response = await desk.post(f"{URL}/{item_id}/rapprocher", data={"csrf": token, "code": "999"})
    assert response.status_code == 400
    assert not await ledger.Payment.exists()


async def test_a_match_without_its_csrf_token_changes_nothing(desk: httpx.AsyncClient) -> None:
    item_id = await queued(desk)
    response = await desk.post(
        f"{URL}/{item_id}/rapprocher", data={"csrf": "forged", "code": "1004300"}
    )
    assert response.status_code == 400
    assert not await ledger.Payment.exists()


async def test_an_empty_queue_says_so(desk: httpx.AsyncClient) -> None:
    response = await desk.get(URL)
    assert response.status_code == 200
    assert pages.text_of(response.text).count("Rien à rapprocher.") == 2
