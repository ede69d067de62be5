import httpx

from tests.frontends.html import office, pages


async def test_payments_come_ten_a_page_newest_first(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    first = await collector.get(f"/locataires/{household.code}/paiements")
    assert first.status_code == 200
    document = pages.check_page(first.text)
    assert len(document.findall(".//main/ul/li")) == 10
    text = pages.text_of(first.text)
    assert text.index("en attente de la trésorerie") < text.index("confirmé il y a")
    assert "chèque, rejeté le" in text and office.REJECTION_REASON in text
    older = document.find(".//nav/a[@rel='next']")
    assert older is not None and older.get("accesskey") == "#"
    assert older.get("href") == f"/locataires/{household.code}/paiements?page=2"
    back = document.find(".//nav/a[@accesskey='*']")
    assert back is not None and back.get("href") == f"/locataires/{household.code}"

    second = await collector.get(older.get("href", ""))
    document = pages.check_page(second.text)
    assert len(document.findall(".//main/ul/li")) == office.PAYMENTS - 10
    assert document.find(".//nav/a[@rel='next']") is None
    newer = document.find(".//nav/a[@rel='prev']")
    assert newer is not None and newer.get("href") == f"/locataires/{household.code}/paiements"
    title = document.find("head/title")
    assert title is not None and title.text == f"Paiements {household.code} (2) – Régie"


async def test_payment_urls_hold_a_page_number_not_a_cursor(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    """The API's cursors encode payment dates: the pages number themselves instead."""
    first = await collector.get(f"/locataires/{household.code}/paiements")
    hrefs = [a.get("href", "") for a in pages.parse(first.text).iter("a")]
    assert f"/locataires/{household.code}/paiements?page=2" in hrefs
    assert all("apres" not in href and "after" not in href for href in hrefs)


async def test_a_page_past_the_last_one_is_not_found(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    for page in ("3", "0", "-1", "x", "101", "99999999999999999999"):
        response = await collector.get(f"/locataires/{household.code}/paiements?page={page}")
        assert response.status_code == 404, page
        pages.check_page(response.text)


async def test_a_tenant_outside_the_sectors_has_no_payments_page(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    outside = await collector.get(f"/locataires/{household.outsider_code}/paiements")
    unknown = await collector.get("/locataires/7799999/paiements")
    assert outside.status_code == unknown.status_code == 404
    assert outside.text == unknown.text


async def test_office_staff_read_every_account(
    office_client: httpx.AsyncClient, household: office.Household
) -> None:
    response = await office_client.get(
        f"/locataires/{household.outsider_code}", headers=pages.FRENCH
    )
    assert response.status_code == 200
    assert "DELAUNAY-RIBÈRE Anaïs" in pages.text_of(response.text)
