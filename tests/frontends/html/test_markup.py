"""Every page: valid HTML5, the house rules, and at most 3 kB of markup at its heaviest."""

import httpx
import pytest
from starlette.applications import Starlette

from regie.db import tenants
from regie.demo.office import DemoOptions, load_demo_office
from regie.frontends.html import static
from regie.services import users
from tests.auth import people
from tests.frontends.html import office, pages, worst


@pytest.fixture
async def heavy(household: office.Household) -> tuple[worst.Vocabulary, list[str]]:
    words = worst.vocabulary()
    codes = await worst.heavy_office(words, 9)
    await users.set_sector(
        "Secteur jldelmas", "jldelmas", ["Moissac", "Castelsarrasin", words.commune]
    )
    return words, codes


async def test_every_page_kind_weighs_at_most_3_kb_at_its_heaviest(
    heavy: tuple[worst.Vocabulary, list[str]], app: Starlette
) -> None:
    words, codes = heavy
    weights = await worst.page_weights(app, await pages.collector_session(), words, codes)
    assert len(weights) == 8
    over = {kind: size for kind, size in weights.items() if size > worst.BUDGET_BYTES}
    assert not over, f"over {worst.BUDGET_BYTES} bytes: {over}"


async def test_the_worst_case_is_heavier_than_anything_the_demo_office_draws(
    db: object, app: Starlette
) -> None:
    """Every account and payments page of a small demo office, against the heavy household."""
    await load_demo_office(DemoOptions(dwellings=120))
    await people.office()
    async with pages.client_for(app, await _office_session()) as client:
        heaviest_account = heaviest_payments = 0
        for code in await tenants.Tenant.all().values_list("code", flat=True):
            account = await client.get(f"/locataires/{code}")
            payments = await client.get(f"/locataires/{code}/paiements")
            assert account.status_code == payments.status_code == 200
            heaviest_account = max(heaviest_account, len(account.content))
            heaviest_payments = max(heaviest_payments, len(payments.content))
        words = worst.vocabulary()
        code = (await worst.heavy_office(words, 1))[0]
        assert len((await client.get(f"/locataires/{code}")).content) >= heaviest_account
        assert len((await client.get(f"/locataires/{code}/paiements")).content) >= heaviest_payments
    assert heaviest_account <= worst.BUDGET_BYTES and heaviest_payments <= worst.BUDGET_BYTES


async def _office_session() -> str:
    from regie.services import sessions
    from tests.conftest import OFFICE_PASSWORD

    return (await sessions.sign_in_office("claire", OFFICE_PASSWORD)).token


async def test_every_page_is_valid_html5_with_titles_labels_and_accesskeys(
    heavy: tuple[worst.Vocabulary, list[str]], app: Starlette, client: httpx.AsyncClient
) -> None:
    words, codes = heavy
    anonymous = [await client.get("/"), await client.get("/connexion")]
    client.cookies.set("regie_device", "x", path="/connexion")
    anonymous.append(await client.get("/connexion"))
    async with pages.client_for(app, await pages.collector_session()) as signed_in:
        home = await signed_in.get("/")
        token = pages.csrf_of(home.text)
        seen = [
            *anonymous,
            home,
            await signed_in.get("/recherche"),
            await signed_in.post("/recherche", data={"csrf": token, "q": words.surname}),
            await signed_in.post("/recherche", data={"csrf": token, "q": "zzzz"}),
            await signed_in.post("/recherche", data={"csrf": token, "q": "z"}),
            await signed_in.get(f"/locataires/{codes[0]}"),
            await signed_in.get(f"/locataires/{codes[1]}"),  # no payment at all
            await signed_in.get(f"/locataires/{codes[0]}/paiements?page=2"),
            await signed_in.get("/locataires/0000000"),
        ]
    for response in seen:
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        pages.check_page(response.text)
        document = pages.parse(response.text)
        title = document.find("head/title")
        assert title is not None and (title.text or "").endswith("Régie")
        main = document.find("body/main")
        assert main is not None, "a main landmark"


async def test_the_main_actions_have_keypad_shortcuts(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    home = pages.parse((await collector.get("/")).text)
    account = pages.parse((await collector.get(f"/locataires/{household.code}")).text)
    payments = pages.parse((await collector.get(f"/locataires/{household.code}/paiements")).text)
    assert home.find(".//input[@accesskey='0']") is not None
    assert account.find(".//a[@accesskey='#']") is not None  # all payments
    assert account.find(".//a[@accesskey='0']") is not None  # new search
    assert payments.find(".//a[@accesskey='*']") is not None  # back to the account
    assert payments.find(".//a[@accesskey='#']") is not None  # older payments


async def test_the_one_stylesheet_is_small_and_cached_for_a_year(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert f'<link rel="stylesheet" href="{static.STYLESHEET_URL}">' in page.text
    css = await client.get(static.STYLESHEET_URL)
    assert css.status_code == 200 and css.headers["content-type"] == "text/css; charset=utf-8"
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert len(css.content) <= 2048
    assert b":focus" in css.content  # visible focus
    stale = await client.get("/static/regie-000000000000.css")
    assert stale.status_code == 404
