import logging

import httpx
import pytest

from regie.services import users
from tests.frontends.html import office, pages


async def test_the_signed_in_home_page_is_the_search_form(collector: httpx.AsyncClient) -> None:
    page = await collector.get("/")
    assert page.status_code == 200
    document = pages.check_page(page.text)
    field = document.find(".//input[@id='q']")
    assert field is not None
    assert field.get("accesskey") == "0" and field.get("autocomplete") == "off"
    assert "autofocus" in field.attrib
    text = pages.text_of(page.text)
    assert "Locataire : nom ou code" in text and "Connecté : Jean-Luc Delmas" in text


async def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(client: httpx.AsyncClient) -> None:
    for path in ("/recherche", "/locataires/7700001", "/locataires/7700001/paiements?page=2"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/connexion?next=%2Flocataires") or (
            response.headers["location"] == "/connexion?next=%2Frecherche"
        )
    posted = await client.post("/recherche", data={"q": "delaunay"})
    assert (
        posted.status_code == 303 and posted.headers["location"] == "/connexion?next=%2Frecherche"
    )


async def test_homonyms_are_told_apart_by_commune_and_address(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    response = await pages.search(collector, "delaunay émile")
    assert response.status_code == 200
    document = pages.check_page(response.text)
    items = document.findall(".//ol/li")
    assert len(items) == 2
    text = [pages.text_of(f"<!DOCTYPE html><p>{_inner(item)}") for item in items]
    assert "DELAUNAY-RIBÈRE Émile" in text[0] and "DELAUNAY-RIBÈRE Émile" in text[1]
    assert "Moissac" in text[0] and "14, avenue du Chasselas" in text[0]
    assert "Castelsarrasin" in text[1] and "3, rue de l'Égalité" in text[1]
    links = [item.find("a") for item in items]
    assert [a.get("href") for a in links if a is not None] == [
        f"/locataires/{household.code}",
        f"/locataires/{household.homonym_code}",
    ]
    assert [a.get("accesskey") for a in links if a is not None] == ["1", "2"]


def _inner(element: object) -> str:
    from xml.etree.ElementTree import tostring

    return tostring(element, encoding="unicode", method="html")  # type: ignore[arg-type]


async def test_a_tenant_outside_the_sectors_is_not_found(collector: httpx.AsyncClient) -> None:
    response = await pages.search(collector, "delaunay anaïs")
    assert response.status_code == 200
    assert "Aucun locataire trouvé." in pages.text_of(response.text)
    assert "7700003" not in response.text


async def test_a_single_match_opens_its_account(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    response = await pages.search(collector, household.code)
    assert response.status_code == 303
    assert response.headers["location"] == f"/locataires/{household.code}"


async def test_the_name_searched_for_never_lands_in_a_url_or_the_logs(
    collector: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # INFO: what the server logs in production (the ORM's DEBUG log shows SQL parameters).
    caplog.set_level(logging.INFO)
    response = await pages.search(collector, "delaunay émile")
    assert response.request.method == "POST" and response.request.url.path == "/recherche"
    assert not response.request.url.query
    assert "delaunay" not in caplog.text.lower()
    for link in pages.parse(response.text).iter("a"):
        assert "delaunay" not in link.get("href", "").lower()


async def test_results_are_paged_by_post_eight_at_a_time(collector: httpx.AsyncClient) -> None:
    from tests.frontends.html import worst

    words = worst.vocabulary()
    codes = await worst.heavy_office(words, 11)
    await users.set_sector("Secteur jldelmas", "jldelmas", ["Moissac", words.commune])
    first = await pages.search(collector, words.surname)
    document = pages.check_page(first.text)
    assert len(document.findall(".//ol/li")) == 8
    more = document.find(".//button[@name='apres']")
    assert more is not None and more.get("accesskey") == "#"
    second = await collector.post(
        "/recherche",
        data={
            "csrf": pages.csrf_of(first.text),
            "q": words.surname,
            "apres": more.get("value", ""),
        },
    )
    document = pages.check_page(second.text)
    hrefs = [a.get("href") for a in document.findall(".//ol/li/a")]
    assert hrefs == [f"/locataires/{code}" for code in codes[8:]]
    assert document.find(".//button[@name='apres']") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a", "Tapez au moins 2 caractères"),
        ("   ", "Tapez au moins 2 caractères"),
        ("x" * 101, "Tapez au plus 100 caractères"),
    ],
)
async def test_a_bad_text_shows_the_form_again_with_why(
    collector: httpx.AsyncClient, text: str, message: str
) -> None:
    response = await pages.search(collector, text)
    assert response.status_code == 400
    pages.check_page(response.text)
    assert message in pages.text_of(response.text)


async def test_a_search_without_the_form_token_is_refused(collector: httpx.AsyncClient) -> None:
    response = await collector.post("/recherche", data={"q": "delaunay"})
    assert response.status_code == 400
    assert "Le formulaire a expiré" in pages.text_of(response.text)
    assert "DELAUNAY" not in response.text


async def test_a_token_of_another_session_is_refused(
    collector: httpx.AsyncClient, app: object
) -> None:
    other = await pages.collector_session()
    async with pages.client_for(app, other) as second:  # type: ignore[arg-type]
        token = pages.csrf_of((await second.get("/")).text)
    mine = pages.csrf_of((await collector.get("/")).text)
    assert token != mine
    response = await collector.post("/recherche", data={"csrf": token, "q": "delaunay"})
    assert response.status_code == 400


async def test_signing_out_needs_the_form_token(collector: httpx.AsyncClient) -> None:
    refused = await collector.post("/deconnexion")
    assert refused.status_code == 400
    assert (await collector.get("/")).status_code == 200  # still signed in
    home = await collector.get("/")
    response = await collector.post("/deconnexion", data={"csrf": pages.csrf_of(home.text)})
    assert response.status_code == 303 and response.headers["location"] == "/connexion"
    after = await collector.get("/locataires/7700001")
    assert after.status_code == 303  # the session is over server side


async def test_the_text_shown_again_cannot_break_out_of_its_field(
    collector: httpx.AsyncClient,
) -> None:
    response = await pages.search(collector, "\"><script>alert(1)</script>'")
    document = pages.check_page(response.text)
    field = document.find(".//input[@id='q']")
    assert field is not None and field.get("value") == "\"><script>alert(1)</script>'"
    assert "<script>" not in response.text


async def test_a_forged_page_cursor_starts_the_form_again(collector: httpx.AsyncClient) -> None:
    response = await pages.search(collector, "delaunay", apres="not-a-cursor")
    assert response.status_code == 400
    assert "Le formulaire a expiré" in pages.text_of(response.text)
