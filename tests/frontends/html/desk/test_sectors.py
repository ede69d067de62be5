"""Sectors (admins only): each with its collector and communes; change one, create one. A change
of communes is what the collector sees at their next search."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from regie.db import auth, places
from regie.db.people import Role, Sector
from regie.services import sessions
from tests import factories
from tests.auth import people as make
from tests.conftest import OFFICE_PASSWORD
from tests.frontends.html import office, pages

URL = "/office/secteurs"


@pytest.fixture
async def admin(household: office.Household, app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Adèle, an admin; collector jldelmas's sector holds Moissac and Castelsarrasin."""
    await make.office("adele", Role.ADMIN)
    opened = await sessions.sign_in_office("adele", OFFICE_PASSWORD)
    async with pages.client_for(app, opened.token) as client:
        yield client


async def commune_id(name: str) -> int:
    commune = await places.Commune.get(name=name)
    return commune.id


async def test_each_sector_shows_its_collector_and_communes(admin: httpx.AsyncClient) -> None:
    await factories.commune("Albias", "82350")
    await factories.commune("Épinal-sur-Tarn", "82999")
    response = await admin.get(URL)
    assert response.status_code == 200, response.text
    document = pages.check_page(response.text)
    sector = await Sector.get(name="Secteur jldelmas")
    found = document.find(f".//article[@id='s-{sector.id}']")
    assert found is not None
    text = pages.squash(" ".join(found.itertext()))
    assert "Régisseur : Jean-Luc Delmas · 2 communes : Castelsarrasin, Moissac" in text
    chosen = found.find(".//select/option[@selected]")
    assert chosen is not None and chosen.get("value") == "jldelmas"
    ticked = [i.get("value") for i in found.iter("input") if "checked" in i.attrib]
    assert sorted(ticked) == sorted(
        [str(await commune_id("Moissac")), str(await commune_id("Castelsarrasin"))]
    )
    # Communes by name, grouped by initial letter (É with E).
    labels = [pages.squash("".join(label.itertext())) for label in found.iter("label")][1:]
    names = [label.rsplit(" ", 1)[0] for label in labels]
    assert names == sorted(names, key=lambda n: n.replace("É", "E"))
    letters = [s.text for s in found.iter("strong")]
    assert letters == ["A", "C", "E", "M"]


async def test_changing_the_communes_changes_what_the_collector_finds(
    admin: httpx.AsyncClient, collector: httpx.AsyncClient, household: office.Household
) -> None:
    before = await pages.search(collector, "delaunay")
    assert household.code in before.text and household.outsider_code not in before.text
    sector = await Sector.get(name="Secteur jldelmas")
    page = await admin.get(URL)
    response = await admin.post(
        URL,
        data={
            "csrf": pages.csrf_of(page.text),
            "secteur": str(sector.id),
            "nom": sector.name,
            "collecteur": "jldelmas",
            "communes": [str(await commune_id("Montauban"))],
        },
    )
    assert response.status_code == 303
    assert (
        response.headers["location"] == f"{URL}?fait=enregistre&secteur={sector.id}#s-{sector.id}"
    )
    saved = await admin.get(response.headers["location"])
    assert "Le secteur « Secteur jldelmas » a été enregistré." in pages.text_of(saved.text)

    after = await pages.search(collector, "delaunay")
    # One match left: the Montauban household opens directly; Moissac's is out of reach.
    assert after.status_code == 303
    assert after.headers["location"] == f"/locataires/{household.outsider_code}"
    assert (await collector.get(f"/locataires/{household.code}")).status_code == 404
    event = await auth.AuditEvent.get(action="admin.set-sector")
    assert (event.surface, event.outcome) == ("html", "ok")
    assert "1 communes" in event.detail


async def test_a_new_sector_is_created_and_a_taken_name_refused(
    admin: httpx.AsyncClient,
) -> None:
    token = pages.csrf_of((await admin.get(URL)).text)
    moissac = str(await commune_id("Moissac"))
    data = {"csrf": token, "nouveau": "1", "nom": "Lomagne", "collecteur": "", "communes": moissac}
    created = await admin.post(URL, data=data)
    assert created.status_code == 303
    sector = await Sector.get(name="Lomagne")
    assert sector.collector_id is None
    assert [c.name for c in await sector.communes.all()] == ["Moissac"]

    taken = await admin.post(URL, data={**data, "nom": "Secteur jldelmas"})
    assert taken.status_code == 400
    document = pages.check_page(taken.text)
    assert "Un secteur porte déjà ce nom" in pages.text_of(taken.text)
    name = document.find(".//input[@id='nom-nouveau']")
    assert name is not None and name.get("value") == "Secteur jldelmas"
    new_form = document.find(".//input[@id='nom-nouveau']/..")
    assert new_form is not None
    ticked = [i.get("value") for i in new_form.iter("input") if "checked" in i.attrib]
    assert ticked == [moissac]
    unchanged = await Sector.get(name="Secteur jldelmas")
    assert sorted(c.name for c in await unchanged.communes.all()) == ["Castelsarrasin", "Moissac"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"collecteur": "adele"}, "Choisissez un régisseur dans la liste."),
        ({"communes": "999999"}, "Cochez des communes de la liste."),
        ({"communes": "Moissac"}, "Cochez des communes de la liste."),
        ({"nom": ""}, "Le nom du secteur doit comporter de 1 à 80 caractères."),
    ],
)
async def test_bad_choices_say_what_was_wrong(
    admin: httpx.AsyncClient, fields: dict[str, str], message: str
) -> None:
    token = pages.csrf_of((await admin.get(URL)).text)
    data = {"csrf": token, "nouveau": "1", "nom": "Nord", "collecteur": "jldelmas", **fields}
    response = await admin.post(URL, data=data)
    assert response.status_code == 400
    assert message in pages.text_of(response.text)
    assert not await Sector.filter(name="Nord").exists()


async def test_a_post_without_the_csrf_token_is_refused(admin: httpx.AsyncClient) -> None:
    sector = await Sector.get(name="Secteur jldelmas")
    response = await admin.post(
        URL, data={"secteur": str(sector.id), "nom": sector.name, "collecteur": ""}
    )
    assert response.status_code == 400
    assert "Le formulaire a expiré" in pages.text_of(response.text)
    await sector.refresh_from_db()
    assert sector.collector_id is not None


async def test_office_staff_are_refused(desk: httpx.AsyncClient) -> None:
    token = pages.csrf_of((await desk.get("/office/impayes")).text)
    response = await desk.post(URL, data={"csrf": token, "nouveau": "1", "nom": "Nord"})
    assert response.status_code == 403
    assert "Ces pages sont réservées aux administrateurs." in pages.text_of(response.text)
    assert not await Sector.filter(name="Nord").exists()
