import httpx

from tests.auth import people as make
from tests.frontends.html import pages


async def test_a_refused_sign_in_keeps_where_to_go_next_and_which_form(
    client: httpx.AsyncClient,
) -> None:
    await make.office()
    form = await client.get("/connexion?next=/locataires/7700001")
    document = pages.check_page(form.text)
    assert document.find(".//details[@open]") is None  # the office form folds away
    refused = await client.post(
        "/connexion",
        data={
            "csrf": pages.csrf_of(form.text),
            "kind": "office",
            "username": "claire",
            "secret": "wrong password!",
            "next": "/locataires/7700001",
        },
    )
    assert refused.status_code == 401
    document = pages.check_page(refused.text)
    assert document.find(".//details[@open]") is not None
    nexts = {i.get("value") for i in document.iter("input") if i.get("name") == "next"}
    assert nexts == {"/locataires/7700001"}
    assert "code secret incorrect" in pages.text_of(refused.text)


async def test_the_sign_in_page_speaks_english_to_english_browsers(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/connexion", headers={"accept-language": "en"})
    assert page.headers["content-language"] == "en"
    text = pages.text_of(page.text)
    assert "Phone code (20 digits)" in text and "PIN (6 digits or more)" in text


async def test_the_anonymous_home_page_offers_to_sign_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    document = pages.check_page(page.text)
    link = document.find(".//a[@href='/connexion']")
    assert link is not None and link.get("accesskey") == "1"
