"""The office's imports page: upload through the form, the result per file, the history."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import httpx
import pytest

from regie.db import imports as import_rows
from regie.db import ledger
from regie.services import imports
from regie.treasury import push
from tests import factories
from tests.frontends.html import office, pages
from tests.treasury.bankfiles import Tx, camt054, csv_file

pytestmark = pytest.mark.usefixtures("db")

URL = "/office/imports"


def rows(markup: str, table: int) -> list[list[str]]:
    """The body rows of the page's ``table``-th table, as cell texts."""
    document = pages.parse(markup)
    tables = document.findall(".//table")
    found = []
    for row in tables[table].findall("./tbody/tr"):
        found.append([pages.squash("".join(cell.itertext())) for cell in row])
    return found


async def upload(
    client: httpx.AsyncClient, *files: tuple[str, bytes], csrf: str | None = None, **data: str
) -> httpx.Response:
    form = await client.get(URL)
    token = pages.csrf_of(form.text) if csrf is None else csrf
    return await client.post(
        URL,
        data={"csrf": token, **data},
        files=[
            ("fichiers", (name, content, "application/octet-stream")) for name, content in files
        ],
    )


async def month_files() -> tuple[bytes, bytes]:
    """A camt.054 (one matched, one unmatched entry) and a CSV (one matched line, one rejected)."""
    _, lease = await factories.tenant_with_lease("Martin", "Jean", code="1004300")
    await factories.bill(lease, date(2026, 3, 1))
    camt = camt054(
        [
            Tx("450.00", "M1", ustrd=("LOC 1004300",)),
            Tx("120.00", "M2", payer="INCONNU SANS REFERENCE"),
        ]
    )
    csv = csv_file(
        [
            {"reference": "C1", "date_comptable": "2026-03-04", "montant": "30.00",
             "code_locataire": "1004300"},
            {"reference": "C2", "date_comptable": "pas une date", "montant": "12.00"},
        ]
    )  # fmt: skip
    return camt, csv


async def test_the_page_offers_a_multipart_upload_form_and_passes_the_house_rules(
    desk: httpx.AsyncClient,
) -> None:
    response = await desk.get(URL)
    assert response.status_code == 200
    document = pages.check_page(response.text)
    form = document.find(".//form[@action='/office/imports']")
    assert form is not None and form.get("enctype") == "multipart/form-data"
    field = form.find(".//input[@type='file']")
    assert field is not None and "multiple" in field.attrib
    assert "Aucun import pour l’instant." in pages.text_of(response.text)


async def test_office_root_leads_to_the_imports(desk: httpx.AsyncClient) -> None:
    response = await desk.get("/office/")
    assert (response.status_code, response.headers["location"]) == (303, URL)


async def test_an_upload_of_two_files_shows_each_file_s_counts_and_rejected_lines(
    desk: httpx.AsyncClient,
) -> None:
    camt, csv = await month_files()
    response = await upload(desk, ("releve-mars.xml", camt), ("caisse.csv", csv))
    assert response.status_code == 200, response.text
    pages.check_page(response.text)
    result = rows(response.text, 0)
    # file, outcome, format, read, new, duplicates, matched, unmatched, rejected
    assert result[0] == ["releve-mars.xml", "importé", "camt.054", "2", "2", "0", "1", "1", "0"]
    assert result[1][:3] == ["caisse.csv", "importé", "csv"]
    assert (result[1][6], result[1][8]) == ("1", "1")
    rejected = rows(response.text, 1)
    assert len(rejected) == 1 and "3" in rejected[0][0]  # the CSV's third line
    assert "Rejets dans caisse.csv" in pages.text_of(response.text)
    assert await ledger.Payment.filter(lease__tenant__code="1004300").count() == 2


async def test_the_history_says_who_imported_what_and_when(desk: httpx.AsyncClient) -> None:
    camt, _ = await month_files()
    await upload(desk, ("releve-mars.xml", camt))
    history = rows((await desk.get(URL)).text, 0)
    assert len(history) == 1
    started, channel, name, by, status, *counts = history[0]
    assert channel == "fichier" and name.startswith("releve-mars.xml")
    assert "camt.054" in name
    assert by.startswith("user:")  # the importing office user's id
    assert status == "terminé"
    assert counts == ["2", "2", "0", "1", "1", "0"]
    assert started  # a local date and time


async def test_the_same_file_twice_changes_nothing_and_says_so(desk: httpx.AsyncClient) -> None:
    camt, _ = await month_files()
    await upload(desk, ("releve-mars.xml", camt))
    again = await upload(desk, ("copie.xml", camt))
    assert rows(again.text, 0)[0][1].startswith("déjà importé")
    assert await ledger.Payment.filter(lease__tenant__code="1004300").count() == 1


async def test_a_broken_file_is_refused_whole_with_its_reason(desk: httpx.AsyncClient) -> None:
    response = await upload(desk, ("cassé.xml", b"<Document><oops"), format="camt.054")
    row = rows(response.text, 0)[0]
    assert row[0] == "cassé.xml" and row[1].startswith("refusé")
    assert len(row[1]) > len("refusé")  # with the reason


async def test_treasury_pushes_appear_in_the_same_history(desk: httpx.AsyncClient) -> None:
    await factories.tenant_with_lease("Dupré", code="1004217")
    body = json.dumps(
        {"confirmations": [{"id": "T-1", "tenantCode": "1004217", "amountCents": 45000,
                            "bookedOn": "2026-03-03"}]}
    ).encode()  # fmt: skip
    await imports.run_import(
        imports.ImportRequest(
            channel=import_rows.ImportChannel.PUSH,
            format=push.FORMAT,
            message_id="msg_1",
            message_key="msg_1",
            content_sha256=hashlib.sha256(body).hexdigest(),
            source="client:treasury",
        ),
        push.parse_confirmations(body),
    )
    history = rows((await desk.get(URL)).text, 0)
    assert history[0][1] == "envoi du Trésor"
    assert history[0][3] == "client:treasury"
    assert history[0][8] == "1"  # matched


async def test_an_upload_without_its_csrf_token_imports_nothing(desk: httpx.AsyncClient) -> None:
    camt, _ = await month_files()
    response = await upload(desk, ("releve.xml", camt), csrf="forged")
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.text
    assert not await import_rows.ImportBatch.exists()


async def test_an_upload_without_a_file_is_refused(desk: httpx.AsyncClient) -> None:
    form = await desk.get(URL)
    response = await desk.post(URL, data={"csrf": pages.csrf_of(form.text)})
    assert response.status_code == 400
    assert "Choisissez au moins un fichier." in response.text


async def test_anonymous_visitors_sign_in_first(client: httpx.AsyncClient) -> None:
    response = await client.get(URL)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/connexion?next=")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", URL),
        ("POST", URL),
        ("GET", "/office/rapprochements"),
        ("POST", "/office/rapprochements/1/rapprocher"),
        ("POST", "/office/rapprochements/1/ecarter"),
        ("POST", "/office/rapprochements/1/recherche"),
    ],
)
async def test_collectors_are_refused(
    collector: httpx.AsyncClient, household: office.Household, method: str, path: str
) -> None:
    response = await collector.request(method, path, data={"csrf": "x", "code": household.code})
    assert response.status_code == 403
    assert "réservées au personnel du bureau" in response.text
    assert not await import_rows.ImportBatch.exists()
