"""POST /treasury/confirmations: Standard Webhooks signatures, size cap, replays, and the ledger."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from tortoise.context import TortoiseContext

from regie.app import create_app
from regie.auth import tokens
from regie.db import imports, ledger
from regie.services import oauth_clients, references
from regie.services.access import CONFIRMATIONS_WRITE, TENANTS_READ
from regie.settings import load_settings
from regie.treasury.push import sign
from tests import factories

OLD_SECRET = b"old-secret-of-the-treasury-0001"
NEW_SECRET = b"new-secret-of-the-treasury-0002"
URL = "/treasury/confirmations"


def whsec(secret: bytes) -> str:
    return "whsec_" + base64.b64encode(secret).decode()


@pytest.fixture
async def push_client(db: TortoiseContext) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings(
        {
            "REGIE_ENV": "development",
            "REGIE_PUSH_SECRETS": f"{whsec(OLD_SECRET)},{whsec(NEW_SECRET)}",
            "REGIE_PUSH_MAX_BYTES": "4096",
        }
    )
    app = create_app(settings)
    await oauth_clients.create_client(
        "Trésorerie", scopes=[CONFIRMATIONS_WRITE], client_id="treasury", secret="t" * 40
    )
    token = await tokens.issue_access_token(
        client_id="treasury", scopes=[CONFIRMATIONS_WRITE], settings=settings
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://t",
        headers={"authorization": f"Bearer {token}"},
    ) as c:
        yield c


def document(*items: dict[str, object]) -> bytes:
    return json.dumps({"confirmations": list(items)}).encode()


def payment(identifier: str = "T-1", amount: int = 45000, **extra: object) -> dict[str, object]:
    return {"id": identifier, "tenantCode": "1004217", "amountCents": amount,
            "bookedOn": "2026-03-03", **extra}  # fmt: skip


def headers(
    body: bytes, webhook_id: str = "msg_1", secret: bytes = NEW_SECRET, at: int | None = None
) -> dict[str, str]:
    timestamp = int(time.time()) if at is None else at
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
    }


async def billed_lease() -> ledger.AccountSnapshot:
    _, lease = await factories.tenant_with_lease("Dupré", code="1004217")
    await factories.bill(lease, date(2026, 3, 1))
    return await ledger.AccountSnapshot.get(lease_id=lease.id)


async def test_signed_push_confirms_a_payment(push_client: httpx.AsyncClient) -> None:
    snapshot = await billed_lease()
    body = document(payment())
    response = await push_client.post(URL, content=body, headers=headers(body))
    assert response.status_code == 200, response.text
    assert response.json()["matched"] == 1
    await snapshot.refresh_from_db()
    assert snapshot.confirmed_cents == 45000
    payment_row = await ledger.Payment.get(lease_id=snapshot.lease_id)
    assert payment_row.source == ledger.PaymentSource.TREASURY_PUSH


async def test_rf_reference_instead_of_a_tenant_code_matches(
    push_client: httpx.AsyncClient,
) -> None:
    snapshot = await billed_lease()
    item = payment(reference=references.printed(references.rf_reference("1004217")))
    del item["tenantCode"]
    body = document(item)
    response = await push_client.post(URL, content=body, headers=headers(body))
    assert response.json()["matched"] == 1
    await snapshot.refresh_from_db()
    assert snapshot.confirmed_cents == 45000


async def test_a_signature_under_the_previous_secret_is_accepted_during_rotation(
    push_client: httpx.AsyncClient,
) -> None:
    await billed_lease()
    body = document(payment())
    response = await push_client.post(URL, content=body, headers=headers(body, secret=OLD_SECRET))
    assert response.status_code == 200


async def test_one_valid_signature_among_several_is_enough(push_client: httpx.AsyncClient) -> None:
    await billed_lease()
    body = document(payment())
    sent = headers(body)
    sent["webhook-signature"] = "v1,bm90IGEgc2lnbmF0dXJl " + sent["webhook-signature"]
    assert (await push_client.post(URL, content=body, headers=sent)).status_code == 200


async def test_wrong_signature_is_refused_and_applies_nothing(
    push_client: httpx.AsyncClient,
) -> None:
    await billed_lease()
    body = document(payment())
    response = await push_client.post(
        URL, content=body, headers=headers(body, secret=b"someone-else-secret-000000")
    )
    assert response.status_code == 401
    assert "webhook-signature" in response.json()["error"]
    assert not await ledger.Payment.exists()


async def test_body_changed_after_signing_is_refused(push_client: httpx.AsyncClient) -> None:
    body = document(payment())
    sent = headers(body)
    response = await push_client.post(URL, content=document(payment(amount=1)), headers=sent)
    assert response.status_code == 401


async def test_timestamp_more_than_five_minutes_old_is_refused(
    push_client: httpx.AsyncClient,
) -> None:
    body = document(payment())
    stale = headers(body, at=int(time.time()) - 6 * 60)
    response = await push_client.post(URL, content=body, headers=stale)
    assert response.status_code == 401
    assert "webhook-timestamp" in response.json()["error"]


async def test_missing_header_is_named(push_client: httpx.AsyncClient) -> None:
    body = document(payment())
    sent = headers(body)
    del sent["webhook-id"]
    response = await push_client.post(URL, content=body, headers=sent)
    assert response.status_code == 401
    assert "webhook-id" in response.json()["error"]


async def test_replay_of_a_delivery_is_a_no_op_answering_success(
    push_client: httpx.AsyncClient,
) -> None:
    snapshot = await billed_lease()
    body = document(payment())
    first = await push_client.post(URL, content=body, headers=headers(body))
    replay = await push_client.post(URL, content=body, headers=headers(body))
    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.json()["replay"] is True
    await snapshot.refresh_from_db()
    assert snapshot.confirmed_cents == 45000
    assert await ledger.Payment.all().count() == 1


async def test_same_delivery_id_with_another_body_is_a_conflict(
    push_client: httpx.AsyncClient,
) -> None:
    await billed_lease()
    body = document(payment())
    await push_client.post(URL, content=body, headers=headers(body))
    other = document(payment("T-2", amount=100))
    response = await push_client.post(URL, content=other, headers=headers(other))
    assert response.status_code == 409
    assert await ledger.Payment.all().count() == 1


async def test_same_confirmation_in_a_new_delivery_counts_once(
    push_client: httpx.AsyncClient,
) -> None:
    await billed_lease()
    first = document(payment())
    second = document(payment(), payment("T-2", amount=1000))
    await push_client.post(URL, content=first, headers=headers(first, "msg_1"))
    response = await push_client.post(URL, content=second, headers=headers(second, "msg_2"))
    assert (response.json()["new"], response.json()["duplicates"]) == (1, 1)


async def test_body_over_the_cap_is_refused_by_its_content_length(
    push_client: httpx.AsyncClient,
) -> None:
    body = b"x" * 5000
    response = await push_client.post(URL, content=body, headers=headers(body))
    assert response.status_code == 413


async def test_streamed_body_over_the_cap_is_refused_while_reading(
    push_client: httpx.AsyncClient,
) -> None:
    sent_chunks: list[int] = []

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(100):
            sent_chunks.append(1)
            yield b"y" * 1000

    response = await push_client.post(URL, content=stream(), headers=headers(b""))
    assert response.status_code == 413
    assert len(sent_chunks) < 100


async def test_invalid_confirmation_fields_are_named_and_nothing_is_applied(
    push_client: httpx.AsyncClient,
) -> None:
    await billed_lease()
    body = document(payment(), payment("T-2", amount=-5, bookedOn="2026-02-30"))
    response = await push_client.post(URL, content=body, headers=headers(body))
    assert response.status_code == 422
    error = response.json()["error"]
    assert "confirmations[1].amountCents" in error
    assert "confirmations[1].bookedOn" in error
    assert not await ledger.Payment.exists()
    assert not await imports.ImportBatch.exists()


async def test_reversal_rejects_the_pushed_payment(push_client: httpx.AsyncClient) -> None:
    snapshot = await billed_lease()
    body = document(payment(endToEndId="E2E-9"))
    await push_client.post(URL, content=body, headers=headers(body, "msg_1"))
    reversal = document(payment("T-1-R", kind="reversal", endToEndId="E2E-9", returnReason="AC04"))
    response = await push_client.post(URL, content=reversal, headers=headers(reversal, "msg_2"))
    assert response.json()["matched"] == 1
    await snapshot.refresh_from_db()
    assert snapshot.confirmed_cents == 0
    assert (await ledger.Payment.get()).status == ledger.PaymentStatus.REJECTED


async def test_without_configured_secrets_the_channel_is_closed(db: TortoiseContext) -> None:
    app = create_app(load_settings({"REGIE_ENV": "development"}))
    await oauth_clients.create_client(
        "Trésorerie", scopes=[CONFIRMATIONS_WRITE], client_id="treasury", secret="t" * 40
    )
    token = await tokens.issue_access_token(client_id="treasury", scopes=[CONFIRMATIONS_WRITE])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        body = document(payment())
        sent = {**headers(body), "authorization": f"Bearer {token}"}
        response = await c.post(URL, content=body, headers=sent)
    assert response.status_code == 503


def test_settings_refuse_a_malformed_push_secret() -> None:
    with pytest.raises(ValueError, match="REGIE_PUSH_SECRETS"):
        load_settings({"REGIE_PUSH_SECRETS": "whsec_not base64!"})


async def test_a_push_without_a_bearer_token_is_refused(push_client: httpx.AsyncClient) -> None:
    await billed_lease()
    body = document(payment())
    response = await push_client.post(
        URL, content=body, headers={**headers(body), "authorization": ""}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await ledger.Payment.all().count() == 0


async def test_a_token_without_the_push_scope_is_refused(push_client: httpx.AsyncClient) -> None:
    await billed_lease()
    await oauth_clients.create_client(
        "Intégration", scopes=[TENANTS_READ], client_id="reader", secret="r" * 40
    )
    reader = await tokens.issue_access_token(client_id="reader", scopes=[TENANTS_READ])
    body = document(payment())
    response = await push_client.post(
        URL, content=body, headers={**headers(body), "authorization": f"Bearer {reader}"}
    )
    assert response.status_code == 403
    assert "insufficient_scope" in response.headers["www-authenticate"]
    assert await ledger.Payment.all().count() == 0
