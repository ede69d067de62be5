"""The office's treasury work through GraphQL: import files, the unmatched queue, batches."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import pytest

from regie.context import Context
from regie.db import ledger, matching
from regie.db.people import Role
from regie.schema.schema import schema
from regie.services import payers
from regie.services.access import ROLE_SCOPES, Viewer
from tests import factories
from tests.treasury.bankfiles import Tx, camt054

pytestmark = pytest.mark.usefixtures("db")

IMPORT = """
mutation Import($files: [TreasuryFileInput!]!) {
  importTreasuryFiles(files: $files) {
    fileName outcome message
    batch { id format readCount newCount duplicateCount matchedCount unmatchedCount rejectedCount }
  }
}
"""
QUEUE = """
{ unmatchedItems { edges { node { id kind amountCents payerName payerAccount reason bulkPayer
    suggestions { score reasons tenant { code surname } } } } } }
"""
MATCH = """
mutation Match($id: ID!, $code: String!) {
  matchUnmatchedItem(itemId: $id, tenantCode: $code) { status tenant { code } }
}
"""
DISMISS = """
mutation Dismiss($id: ID!, $reason: String!) {
  dismissUnmatchedItem(itemId: $id, reason: $reason) { status dismissReason }
}
"""
BATCHES = "{ importBatches { edges { node { format fileName matchedCount unmatchedCount } } } }"

OFFICE = Viewer.office_wide(user_id=None)
COLLECTOR = Viewer(
    user_id=7,
    role=Role.COLLECTOR,
    commune_ids=frozenset(),
    scopes=ROLE_SCOPES[Role.COLLECTOR],
)
PAYER_IBAN = "FR7630003036200005091234507"


async def run(query: str, viewer: Viewer = OFFICE, **variables: Any) -> dict[str, Any]:
    result = await schema.execute(
        query, variable_values=variables, context_value=Context(viewer=viewer)
    )
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [
            {"message": e.message, "extensions": e.extensions or {}} for e in result.errors
        ]
    return body


def file_input(data: bytes, name: str = "releve.xml") -> dict[str, str]:
    return {"fileName": name, "contentBase64": base64.b64encode(data).decode()}


async def queued_payment() -> str:
    """A 450 € transfer from 'M JEAN MARTIN' with no reference, queued; returns its item id."""
    _, lease = await factories.tenant_with_lease("Martin", "Jean", code="1004300")
    await factories.bill(lease, date(2026, 3, 1))
    data = camt054([Tx("450.00", "Q1", payer="M JEAN MARTIN", payer_iban=PAYER_IBAN)])
    body = await run(IMPORT, files=[file_input(data)])
    assert body["data"]["importTreasuryFiles"][0]["batch"]["unmatchedCount"] == 1
    queue = await run(QUEUE)
    item_id: str = queue["data"]["unmatchedItems"]["edges"][0]["node"]["id"]
    return item_id


async def test_import_mutation_reports_counts_and_keeps_the_file_name_for_display() -> None:
    await factories.tenant_with_lease("Martin", code="1004300")
    data = camt054([Tx("450.00", "G1", ustrd=("LOC 1004300",))])
    body = await run(IMPORT, files=[file_input(data, "../../etc/passwd/releve mars.xml")])
    result = body["data"]["importTreasuryFiles"][0]
    assert result["outcome"] == "IMPORTED"
    assert result["fileName"] == "releve mars.xml"
    assert (result["batch"]["format"], result["batch"]["matchedCount"]) == ("camt.054", 1)


async def test_import_mutation_names_a_file_that_is_not_base64() -> None:
    body = await run(IMPORT, files=[{"fileName": "x.xml", "contentBase64": "***"}])
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "files[0].contentBase64" in error["message"]


async def test_queue_lists_an_unreferenced_payment_with_a_scored_suggestion() -> None:
    await queued_payment()
    node = (await run(QUEUE))["data"]["unmatchedItems"]["edges"][0]["node"]
    assert (node["kind"], node["amountCents"]) == ("CREDIT", 45000)
    assert node["payerAccount"] == "•••• 4507"
    assert PAYER_IBAN not in str(node)
    assert node["reason"] == "no reference names a tenant"
    suggestion = node["suggestions"][0]
    assert suggestion["tenant"]["code"] == "1004300"
    assert suggestion["score"] > 0.8
    assert any("surname MARTIN" in r for r in suggestion["reasons"])
    assert any("monthly share" in r for r in suggestion["reasons"])
    assert not await ledger.Payment.exists()  # a suggestion is never applied by itself


async def test_matching_an_item_confirms_the_payment_and_learns_the_payer_account() -> None:
    item_id = await queued_payment()
    body = await run(MATCH, id=item_id, code="1004300")
    assert body["data"]["matchUnmatchedItem"] == {
        "status": "MATCHED",
        "tenant": {"code": "1004300"},
    }
    payment = await ledger.Payment.get()
    assert (payment.amount_cents, payment.status) == (45000, ledger.PaymentStatus.CONFIRMED)
    account = await matching.PayerAccount.get()
    assert (account.fingerprint, account.last4) == (payers.fingerprint(PAYER_IBAN), "4507")
    # The next payment from that account matches by itself.
    data = camt054(
        [Tx("450.00", "Q2", payer="M JEAN MARTIN", payer_iban=PAYER_IBAN)], message_id="N2"
    )
    result = (await run(IMPORT, files=[file_input(data)]))["data"]["importTreasuryFiles"][0]
    assert result["batch"]["matchedCount"] == 1


async def test_an_item_cannot_be_matched_twice() -> None:
    item_id = await queued_payment()
    await run(MATCH, id=item_id, code="1004300")
    body = await run(MATCH, id=item_id, code="1004300")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "itemId"}
    assert await ledger.Payment.all().count() == 1


async def test_matching_to_an_unknown_tenant_names_the_argument() -> None:
    item_id = await queued_payment()
    body = await run(MATCH, id=item_id, code="NOPE")
    assert body["errors"][0]["extensions"]["argument"] == "tenantCode"


async def test_dismissing_an_item_keeps_the_reason() -> None:
    item_id = await queued_payment()
    body = await run(DISMISS, id=item_id, reason="Refund of a deposit, not rent")
    assert body["data"]["dismissUnmatchedItem"] == {
        "status": "DISMISSED",
        "dismissReason": "Refund of a deposit, not rent",
    }
    assert (await run(QUEUE))["data"]["unmatchedItems"]["edges"] == []


async def test_dismissing_without_a_reason_is_refused() -> None:
    item_id = await queued_payment()
    body = await run(DISMISS, id=item_id, reason="   ")
    assert body["errors"][0]["extensions"]["argument"] == "reason"


async def test_batches_are_listed_with_their_counts() -> None:
    await queued_payment()
    edges = (await run(BATCHES))["data"]["importBatches"]["edges"]
    assert edges == [
        {
            "node": {
                "format": "camt.054",
                "fileName": "releve.xml",
                "matchedCount": 0,
                "unmatchedCount": 1,
            }
        }
    ]


@pytest.mark.parametrize("document", [QUEUE, BATCHES])
async def test_collectors_may_not_see_the_treasury_work(document: str) -> None:
    body = await run(document, viewer=COLLECTOR)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_collectors_may_not_import() -> None:
    body = await run(IMPORT, viewer=COLLECTOR, files=[file_input(camt054([]))])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
