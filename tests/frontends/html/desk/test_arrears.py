"""Arrears at a glance: key figures against a small office computed by hand, charts, CSV export.

The office (M is this month; each lease is billed on the 5th):

- A, Montauban, 450 €/month: billed M-3, M-2, M-1 (1 350 €); 450 € confirmed in M-2 → settles M-3:
  arrears 900 € (2 months), aged from the 5th of M-2;
- B, Montauban, 450 €/month: billed M-2, M-1 (900 €); 900 € confirmed in M-1: no arrears;
- C, Moissac, 600 €/month: billed M-5 … M-1 (3 000 €), nothing paid: arrears 3 000 € (5 months), 90+.

Over the 12 months: billed 5 250 €, confirmed 1 350 €; arrears 3 900 €. So the collection rate is
1 350 ÷ 5 250 = 25,7 %, the arrears rate 3 900 ÷ 5 250 = 74,3 %, 2 of 3 households are in arrears
(66,7 %), 1 of 3 owes 3 months or more (33,3 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import httpx
import pytest

from regie.db.auth import AuditEvent
from regie.services import billing
from regie.services.clock import office_today
from tests import factories
from tests.frontends.html import pages

pytestmark = pytest.mark.usefixtures("db")

URL = "/office/impayes"


@dataclass(frozen=True)
class SmallOffice:
    this_month: date
    a_days: int
    """A's arrears age: days since the 5th of M-2."""


async def small_office() -> SmallOffice:
    month = billing.first_of_month(office_today())

    def m(offset: int, day: int = 1) -> date:
        return billing.add_months(month, offset).replace(day=day)

    _, a = await factories.tenant_with_lease("Aubert", "Anne", code="1000001")
    await factories.bill(a, m(-3), m(-2), m(-1))
    await factories.confirmed_payment(a, 45000, m(-2, 6))
    _, b = await factories.tenant_with_lease("Bernard", "Bruno", code="1000002")
    await factories.bill(b, m(-2), m(-1))
    await factories.confirmed_payment(b, 90000, m(-1, 3))
    _, c = await factories.tenant_with_lease(
        "Camus", "Chloé", code="1000003", commune_name="Moissac", rent_cents=60000,
        service_charges_cents=0,
    )  # fmt: skip
    await factories.bill(c, m(-5), m(-4), m(-3), m(-2), m(-1))
    return SmallOffice(month, (office_today() - m(-2, 5)).days)


def bucket_of(days: int) -> str:
    if days <= 30:
        return "0–30 jours"
    if days <= 60:
        return "31–60 jours"
    return "61–90 jours" if days <= 90 else "plus de 90 jours"


def rows(markup: str, table: int) -> list[list[str]]:
    tables = pages.parse(markup).findall(".//table")
    return [
        [pages.squash("".join(cell.itertext())) for cell in row]
        for row in tables[table].findall("./tbody/tr")
    ]


async def test_key_figures_with_their_formulas(desk: httpx.AsyncClient) -> None:
    await small_office()
    response = await desk.get(URL)
    assert response.status_code == 200, response.text
    pages.check_page(response.text)
    kpis = {row[0]: row[1:] for row in rows(response.text, 0)}
    assert kpis["Taux d’impayés"] == [
        "74,3 %",
        "impayés 3 900,00 € ÷ quittancé sur 12 mois 5 250,00 €",
    ]
    assert kpis["Taux de recouvrement"][0] == "25,7 %"
    assert "1 350,00 €" in kpis["Taux de recouvrement"][1]
    assert kpis["Ménages en impayé"][0] == "66,7 %"
    assert kpis["Ménages à 3 mois ou plus"][0] == "33,3 %"


async def test_tenants_per_age_bucket(desk: httpx.AsyncClient) -> None:
    office = await small_office()
    by_age = {row[0]: row[1:] for row in rows((await desk.get(URL)).text, 1)}
    assert by_age["plus de 90 jours"][0] == "1" and by_age["plus de 90 jours"][1] == "3 000,00 €"
    a_bucket = bucket_of(office.a_days)
    assert a_bucket != "plus de 90 jours"
    assert by_age[a_bucket] == ["1", "900,00 €"]
    assert sum(int(v[0]) for v in by_age.values()) == 2


async def test_three_charts_as_inline_svg_each_with_its_table(desk: httpx.AsyncClient) -> None:
    office = await small_office()
    markup = (await desk.get(URL)).text
    document = pages.parse(markup)
    charts = [e for e in document.iter() if e.tag.endswith("svg")]
    assert [c.get("id") for c in charts] == ["g-tranches", "g-communes", "g-mois"]
    assert all(c.get("role") == "img" and c.get("aria-labelledby") for c in charts)
    communes = rows(markup, 2)
    assert communes[0] == ["Moissac", "1", "1", "3 000,00 €"]
    assert communes[1] == ["Montauban", "1", "2", "900,00 €"]
    months = {row[0]: row[1:3] for row in rows(markup, 3)}
    assert len(months) == 12
    m2 = billing.add_months(office.this_month, -2)
    assert months[f"{m2:%m/%Y}"] == ["1 500,00 €", "450,00 €"]


async def test_the_arrears_list_downloads_as_csv_and_each_read_is_audited(
    desk: httpx.AsyncClient,
) -> None:
    await small_office()
    response = await desk.get(URL + ".csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="impayes-')
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeffcode locataire;civilité;nom;prénom;commune;impayé (€)")
    lines = text.strip().split("\r\n")[1:]
    assert lines[0].startswith("1000003;M.;Camus;Chloé;Moissac;3000,00;5,0;")
    assert lines[0].endswith(";plus de 90 jours;oui")
    assert lines[1].startswith("1000001;M.;Aubert;Anne;Montauban;900,00;2,0;")
    assert len(lines) == 2
    audited = await AuditEvent.filter(action="report.arrears_list").values_list(
        "tenant_code", flat=True
    )
    assert sorted(audited) == ["1000001", "1000003"]


async def test_an_office_without_leases_shows_dashes_not_errors(desk: httpx.AsyncClient) -> None:
    response = await desk.get(URL)
    assert response.status_code == 200
    assert rows(response.text, 0)[0][1] == "–"


async def test_collectors_may_not_see_the_arrears(collector: httpx.AsyncClient) -> None:
    for path in (URL, URL + ".csv"):
        response = await collector.get(path)
        assert response.status_code == 403
