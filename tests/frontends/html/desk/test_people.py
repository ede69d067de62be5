"""People (admins only): collectors with their phones and sectors, office users; create a user,
enrol a phone (its code shown once), revoke it after a confirmation, new secrets, unlock,
deactivate."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from regie.db import auth
from regie.db.people import Role, User
from regie.services import sessions
from regie.services.sessions import SignInRefused
from tests.auth import people as make
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET, OFFICE_PASSWORD
from tests.frontends.html import pages

pytestmark = pytest.mark.usefixtures("db")

URL = "/office/personnes"
NEW_PIN = "739184"


@pytest.fixture
async def admin(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Adèle, an admin, asking for French; and collector jldelmas of Moissac with a phone."""
    await make.office("adele", Role.ADMIN)
    await make.collector("jldelmas", "Moissac")
    opened = await sessions.sign_in_office("adele", OFFICE_PASSWORD)
    async with pages.client_for(app, opened.token) as client:
        yield client


async def csrf(client: httpx.AsyncClient) -> str:
    return pages.csrf_of((await client.get(URL)).text)


def article(markup: str, username: str) -> str:
    found = pages.parse(markup).find(f".//article[@id='u-{username}']")
    assert found is not None, f"{username} is listed"
    return pages.squash(" ".join(found.itertext()))


async def test_admins_see_collectors_with_their_phones_and_sectors(
    admin: httpx.AsyncClient,
) -> None:
    response = await admin.get(URL)
    assert response.status_code == 200, response.text
    document = pages.check_page(response.text)
    headings = [pages.squash("".join(h.itertext())) for h in document.iter("h2")]
    assert headings == [
        "Régisseurs",
        "Personnel du bureau et administrateurs",
        "Créer un utilisateur",
    ]
    collector = article(response.text, "jldelmas")
    assert "Jean-Luc Delmas" in collector and "Secteur jldelmas" in collector
    assert "Nokia 7110" in collector and "peut se connecter" in collector
    assert "régisseur" in collector and "actif" in collector
    assert "administrateur" in article(response.text, "adele")
    table = document.find(".//article[@id='u-jldelmas']//table")
    assert table is not None
    assert [th.get("scope") for th in table.iter("th")][:5] == ["col"] * 5
    # Admins do not deactivate themselves: no such button on their own entry.
    assert "Désactiver" not in article(response.text, "adele")
    assert "Désactiver" in article(response.text, "jldelmas")


async def test_the_desk_links_these_pages_for_admins_only(
    admin: httpx.AsyncClient, desk: httpx.AsyncClient
) -> None:
    for path in ("/office/impayes", "/office/imports", URL):
        markup = (await admin.get(path)).text
        assert 'href="/office/personnes"' in markup and 'href="/office/secteurs"' in markup
    markup = (await desk.get("/office/impayes")).text
    assert "/office/personnes" not in markup and "/office/secteurs" not in markup


@pytest.mark.parametrize("path", [URL, "/office/secteurs", "/office/telephones/1/revoquer"])
async def test_office_staff_who_are_not_admins_get_403(desk: httpx.AsyncClient, path: str) -> None:
    response = await desk.get(path)
    assert response.status_code == 403
    assert "Ces pages sont réservées aux administrateurs." in pages.text_of(response.text)


async def test_office_staff_cannot_post_either(desk: httpx.AsyncClient) -> None:
    await make.collector("jldelmas", "Moissac")
    token = pages.csrf_of((await desk.get("/office/impayes")).text)
    response = await desk.post(f"{URL}/jldelmas/desactiver", data={"csrf": token})
    assert response.status_code == 403
    created = await desk.post(
        URL, data={"csrf": token, "identifiant": "x", "nom": "X", "role": "ADMIN"}
    )
    assert created.status_code == 403
    assert (await User.get(username="jldelmas")).active
    assert not await User.filter(username="x").exists()


async def test_collectors_get_403(collector: httpx.AsyncClient) -> None:
    assert (await collector.get(URL)).status_code == 403


async def test_anonymous_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get(URL)
    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?next=%2Foffice%2Fpersonnes"


async def test_a_new_collector_gets_a_phone_whose_code_is_shown_once_then_revoked(
    admin: httpx.AsyncClient,
) -> None:
    token = await csrf(admin)
    created = await admin.post(
        URL,
        data={
            "csrf": token,
            "identifiant": "smarty",
            "nom": "Sophie Marty",
            "role": "COLLECTOR",
            "pin": COLLECTOR_PIN,
        },
    )
    assert created.status_code == 303
    listed = await admin.get(created.headers["location"])
    assert "Le compte smarty a été créé. Enrôlez maintenant le téléphone du régisseur." in (
        pages.text_of(listed.text)
    )
    assert "Aucun téléphone enrôlé" in article(listed.text, "smarty")

    enrolled = await admin.post(
        f"{URL}/smarty/telephones", data={"csrf": token, "libelle": "Nokia 6310i de Sophie"}
    )
    assert enrolled.status_code == 200
    pages.check_page(enrolled.text)
    text = pages.text_of(enrolled.text)
    found = re.search(r"(\d{5}) (\d{5}) (\d{5}) (\d{5})", text)
    assert found is not None, text
    secret = "".join(found.groups())
    assert "il n’est affiché que cette fois, plus jamais ensuite" in text
    assert enrolled.headers["cache-control"] == "no-store"
    # Never again: not on the people page, not in the audit log.
    again = await admin.get(URL)
    assert secret not in again.text and found.group(0) not in again.text
    assert "Nokia 6310i de Sophie" in article(again.text, "smarty")
    assert not await auth.AuditEvent.filter(detail__contains=secret).exists()
    opened = await sessions.sign_in_collector("smarty", secret, COLLECTOR_PIN, "html")

    device = await auth.Device.get(label="Nokia 6310i de Sophie")
    confirm = await admin.get(f"/office/telephones/{device.id}/revoquer")
    assert confirm.status_code == 200
    pages.check_page(confirm.text)
    assert "Une fois révoqué" in pages.text_of(confirm.text)
    assert (await auth.Device.get(id=device.id)).revoked_at is None  # not before confirming
    revoked = await admin.post(
        f"/office/telephones/{device.id}/revoquer", data={"csrf": pages.csrf_of(confirm.text)}
    )
    assert revoked.status_code == 303
    after = await admin.get(revoked.headers["location"])
    assert "Le téléphone « Nokia 6310i de Sophie » a été révoqué" in pages.text_of(after.text)
    assert await sessions.viewer_for_session(opened.token, "html") is None
    with pytest.raises(SignInRefused):
        await sessions.sign_in_collector("smarty", secret, COLLECTOR_PIN, "html")
    gone = await admin.get(f"/office/telephones/{device.id}/revoquer")
    assert gone.status_code == 404
    actions = (
        await auth.AuditEvent.filter(surface="html").order_by("id").values_list("action", flat=True)
    )
    assert [a for a in actions if a.startswith("admin.")] == [
        "admin.create-user",
        "admin.enrol-device",
        "admin.revoke-device",
    ]


async def test_the_enrol_form_sent_twice_enrols_one_phone(admin: httpx.AsyncClient) -> None:
    # A reload of the page showing the new phone's code sends the form again: the collector
    # would have a second phone able to sign in, whose code nobody saw.
    listed = await admin.get(URL)
    first = await auth.Device.get(label="Nokia 7110")
    assert _phones_known_to_the_enrol_form(listed.text, "jldelmas") == str(first.id)
    fields = {
        "csrf": pages.csrf_of(listed.text),
        "libelle": "Nokia 3310",
        "telephones": _phones_known_to_the_enrol_form(listed.text, "jldelmas"),
    }
    enrolled = await admin.post(f"{URL}/jldelmas/telephones", data=fields)
    assert enrolled.status_code == 200
    assert re.search(r"\d{5} \d{5} \d{5} \d{5}", pages.text_of(enrolled.text))

    again = await admin.post(f"{URL}/jldelmas/telephones", data=fields)
    assert again.status_code == 409
    pages.check_page(again.text)
    text = pages.text_of(again.text)
    assert "Un téléphone a été enrôlé pour jldelmas depuis l’affichage de cette page" in text
    assert not re.search(r"\d{5} \d{5} \d{5} \d{5}", text)
    assert await auth.Device.filter(user__username="jldelmas").count() == 2
    # The page as it is now lists both phones: its form enrols a third.
    fields["telephones"] = _phones_known_to_the_enrol_form(again.text, "jldelmas")
    assert len(fields["telephones"].split(",")) == 2
    third = await admin.post(f"{URL}/jldelmas/telephones", data=fields)
    assert third.status_code == 200
    assert await auth.Device.filter(user__username="jldelmas").count() == 3


def _phones_known_to_the_enrol_form(markup: str, username: str) -> str:
    found = re.search(
        rf'action="{URL}/{username}/telephones">.*?name="telephones" value="([0-9,]*)"',
        markup,
        re.S,
    )
    assert found is not None, markup
    return found.group(1)


async def test_an_enrol_form_with_a_forged_phone_list_is_refused(admin: httpx.AsyncClient) -> None:
    token = await csrf(admin)
    refused = await admin.post(
        f"{URL}/jldelmas/telephones", data={"csrf": token, "libelle": "X", "telephones": "1;drop"}
    )
    assert refused.status_code == 400
    assert await auth.Device.filter(user__username="jldelmas").count() == 1


async def test_a_weak_pin_is_refused_and_the_form_keeps_what_was_typed(
    admin: httpx.AsyncClient,
) -> None:
    response = await admin.post(
        URL,
        data={
            "csrf": await csrf(admin),
            "identifiant": "smarty",
            "nom": "Sophie Marty",
            "role": "COLLECTOR",
            "pin": "555555",
        },
    )
    assert response.status_code == 400
    document = pages.check_page(response.text)
    assert "Le code PIN doit comporter au moins 6 chiffres" in pages.text_of(response.text)
    fields = {i.get("name"): i for i in document.iter("input")}
    assert fields["identifiant"].get("value") == "smarty"
    assert fields["nom"].get("value") == "Sophie Marty"
    selected = document.find(".//select[@id='role']/option[@selected]")
    assert selected is not None and selected.get("value") == "COLLECTOR"
    assert "555555" not in response.text
    assert not await User.filter(username="smarty").exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"identifiant": "jldelmas"}, "Ce nom d’utilisateur est déjà pris."),
        ({"identifiant": "jl delmas"}, "Le nom d’utilisateur doit comporter de 1 à 60 lettres"),
        ({"nom": ""}, "Indiquez le nom de la personne"),
        ({"role": "OFFICE", "mot_de_passe": "court"}, "au moins 12 caractères, dont au moins 4"),
        ({"role": "BOSS"}, "Choisissez un rôle."),
    ],
)
async def test_create_errors_say_what_was_wrong(
    admin: httpx.AsyncClient, fields: dict[str, str], message: str
) -> None:
    data = {"identifiant": "nbenali", "nom": "Nadia Benali", "role": "COLLECTOR", "pin": NEW_PIN}
    response = await admin.post(URL, data={"csrf": await csrf(admin), **data, **fields})
    assert response.status_code == 400
    assert message in pages.text_of(response.text)


async def test_a_post_without_the_csrf_token_changes_nothing(admin: httpx.AsyncClient) -> None:
    created = await admin.post(
        URL, data={"identifiant": "x", "nom": "X", "role": "COLLECTOR", "pin": NEW_PIN}
    )
    assert created.status_code == 400
    assert "Le formulaire a expiré" in pages.text_of(created.text)
    assert not await User.filter(username="x").exists()
    device = await auth.Device.get(label="Nokia 7110")
    for path, data in [
        (f"/office/telephones/{device.id}/revoquer", {}),
        (f"{URL}/jldelmas/desactiver", {"csrf": "forged"}),
        (f"{URL}/jldelmas/telephones", {"libelle": "Autre"}),
        (f"{URL}/jldelmas/pin", {"secret": NEW_PIN}),
    ]:
        response = await admin.post(path, data=data)
        assert response.status_code == 400, path
        assert "Le formulaire a expiré" in pages.text_of(response.text)
    assert (await auth.Device.get(id=device.id)).revoked_at is None
    assert (await User.get(username="jldelmas")).active
    assert await auth.Device.filter(user__username="jldelmas").count() == 1


async def test_deactivate_reactivate_unlock_and_a_new_pin(admin: httpx.AsyncClient) -> None:
    token = await csrf(admin)
    opened = await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, COLLECTOR_PIN, "html")
    response = await admin.post(f"{URL}/jldelmas/desactiver", data={"csrf": token})
    assert response.status_code == 303
    page = await admin.get(response.headers["location"])
    assert "Le compte jldelmas a été désactivé ; ses sessions ont pris fin." in pages.text_of(
        page.text
    )
    assert "désactivé" in article(page.text, "jldelmas")
    assert await sessions.viewer_for_session(opened.token, "html") is None
    assert (await admin.post(f"{URL}/jldelmas/reactiver", data={"csrf": token})).status_code == 303

    for _ in range(3):
        with pytest.raises(SignInRefused):
            await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, "000000", "html")
    locked = await admin.get(URL)
    assert "verrouillé jusqu’à ce qu’un administrateur le déverrouille" in article(
        locked.text, "jldelmas"
    )
    unlocked = await admin.post(f"{URL}/jldelmas/deverrouiller", data={"csrf": token})
    assert unlocked.status_code == 303

    weak = await admin.post(f"{URL}/jldelmas/pin", data={"csrf": token, "secret": "111111"})
    assert weak.status_code == 400
    assert "Le code PIN doit comporter au moins 6 chiffres" in article(weak.text, "jldelmas")
    changed = await admin.post(f"{URL}/jldelmas/pin", data={"csrf": token, "secret": NEW_PIN})
    assert changed.status_code == 303
    assert await sessions.sign_in_collector("jldelmas", DEVICE_SECRET, NEW_PIN, "html")


async def test_admins_cannot_deactivate_themselves(admin: httpx.AsyncClient) -> None:
    response = await admin.post(f"{URL}/adele/desactiver", data={"csrf": await csrf(admin)})
    assert response.status_code == 400
    assert "Vous ne pouvez pas désactiver votre propre compte." in article(response.text, "adele")
    assert (await User.get(username="adele")).active


async def test_the_pages_are_in_english_for_who_prefers_it(admin: httpx.AsyncClient) -> None:
    response = await admin.get(URL, headers={"accept-language": "en"})
    text = pages.text_of(response.text)
    assert "Collectors" in text and "Enrol a phone" in text
