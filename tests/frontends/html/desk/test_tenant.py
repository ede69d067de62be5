"""The tenant file: lease and dwelling, account, the full ledger with its running balance, and who
looked at it (admins). The Delaunay-Ribère household of ``tests.frontends.html.office``: 14 charges
of 673,45 € (9 428,30 €), 11 confirmed transfers (7 407,95 €), a rejected cheque, 500 € of cash
declared: confirmed balance 2 020,35 €."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from regie.db.auth import AuditEvent
from regie.db.people import Role
from regie.services import sessions, users
from tests.conftest import OFFICE_PASSWORD
from tests.frontends.html import office, pages

pytestmark = pytest.mark.usefixtures("db")


def rows(markup: str, table: int) -> list[list[str]]:
    tables = pages.parse(markup).findall(".//table")
    return [
        [pages.squash("".join(cell.itertext())) for cell in row]
        for row in tables[table].findall("./tbody/tr")
    ]


@pytest.fixture
async def admin(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    await users.create_user("adele", "Adèle Admin", Role.ADMIN, password=OFFICE_PASSWORD)
    opened = await sessions.sign_in_office("adele", OFFICE_PASSWORD)
    async with pages.client_for(app, opened.token) as client:
        yield client


async def test_the_ledger_lists_every_line_with_its_running_balance(
    desk: httpx.AsyncClient,
) -> None:
    household = await office.add_household()
    response = await desk.get(f"/office/locataires/{household.code}")
    assert response.status_code == 200, response.text
    pages.check_page(response.text)
    text = pages.text_of(response.text)
    assert "DELAUNAY-RIBÈRE Émile" in text and household.moissac_address in text
    assert "610,00 € + 63,45 € − 0,00 € = 673,45 €" in text
    ledger = rows(response.text, 0)
    assert len(ledger) == 14 + 13
    # The first transfer (booked on the 3rd) comes before the first charge (due on the 5th).
    assert ledger[0][1] == "virement · confirmé" and ledger[1][1].startswith("Quittance de")
    assert (ledger[1][3], ledger[1][-1]) == ("673,45 €", "0,00 €")
    assert ledger[-1][-1] == "2 020,35 €"  # the confirmed balance
    cheque = next(r for r in ledger if r[1].startswith("chèque"))
    assert "rejeté" in cheque[1] and office.REJECTION_REASON in cheque[1]
    cash = next(r for r in ledger if r[1].startswith("espèces"))
    assert "déclaré" in cash[1] and cash[2].startswith("régisseur")
    transfer = next(r for r in ledger if r[1].startswith("virement"))
    assert "confirmé par DGFiP test" in transfer[2]
    footer = pages.parse(response.text).find(".//tfoot/tr")
    assert footer is not None
    assert pages.squash(" ".join(footer.itertext())).endswith("9 428,30 € 7 407,95 € 2 020,35 €")
    assert "réservé aux administrateurs" in text


async def test_admins_see_who_looked_at_the_file(admin: httpx.AsyncClient) -> None:
    household = await office.add_household()
    await admin.get(f"/office/locataires/{household.code}")
    response = await admin.get(f"/office/locataires/{household.code}")
    assert response.status_code == 200
    trail = rows(response.text, 1)
    assert any(r[3] == "tenant.ledger" and r[2] == "html" for r in trail)
    assert all(r[1].startswith("user:") for r in trail)


async def test_each_look_is_audited(desk: httpx.AsyncClient) -> None:
    household = await office.add_household()
    await desk.get(f"/office/locataires/{household.code}")
    assert await AuditEvent.filter(action="tenant.ledger", tenant_code=household.code).exists()


async def test_an_unknown_code_is_a_404(desk: httpx.AsyncClient) -> None:
    response = await desk.get("/office/locataires/0000000")
    assert response.status_code == 404


async def test_collectors_may_not_open_the_office_file(
    collector: httpx.AsyncClient, household: office.Household
) -> None:
    response = await collector.get(f"/office/locataires/{household.code}")
    assert response.status_code == 403
