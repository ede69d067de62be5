"""A collector of Moissac with an enrolled phone, a few tenants with a ledger, a signed-in phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx
import pytest

from regie.db import ledger, tenants
from regie.services import ledger as ledger_service
from tests import factories
from tests.auth import people
from tests.frontends.wml.phone import Deck, deck_of, sign_in


@dataclass(frozen=True)
class Phone:
    """A phone signed in through the sign-in card; ``s`` is its session token."""

    client: httpx.AsyncClient
    s: str
    headers: dict[str, str]

    async def post(self, path: str, **fields: str) -> Deck:
        response = await self.client.post(
            f"/wml{path}?s={self.s}", data=fields, headers=self.headers
        )
        return deck_of(response)

    async def get(self, path: str = "/") -> Deck:
        return deck_of(await self.client.get(f"/wml{path}?s={self.s}", headers=self.headers))


async def tenant_with_payments(
    surname: str,
    first_name: str = "Jean",
    *,
    commune: str = "Moissac",
    address: str | None = None,
    confirmed: int = 2,
    declared: int = 1,
    rejected: int = 1,
    amount_cents: int = 31050,
) -> tuple[tenants.Tenant, tenants.Lease]:
    """A tenant of ``commune`` billed for three months, with confirmed, declared and rejected payments."""
    tenant, lease = await factories.tenant_with_lease(
        surname, first_name, commune_name=commune, address=address
    )
    await factories.bill(lease, date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1))
    day = 1
    for _ in range(confirmed):
        await factories.confirmed_payment(lease, amount_cents, date(2026, 8, day))
        day += 1
    for _ in range(rejected):
        payment = await factories.confirmed_payment(lease, amount_cents, date(2026, 9, day))
        await ledger_service.reject_payment(
            payment.id, "chèque impayé", rejected_at=datetime(2026, 10, 20, 9, tzinfo=UTC)
        )
        day += 1
    for _ in range(declared):
        await ledger_service.declare_payment(
            lease.id,
            amount_cents,
            ledger.PaymentMethod.CHEQUE,
            date(2026, 11, day),
            ledger.PaymentSource.FIELD,
        )
        day += 1
    return tenant, lease


@pytest.fixture
async def collector(db: object) -> None:
    await people.collector("jldelmas", "Moissac")


@pytest.fixture
async def phone(collector: None, client: httpx.AsyncClient) -> Phone:
    token, _ = await sign_in(client)
    return Phone(client, token, {"Accept-Charset": "utf-8"})


@pytest.fixture
async def latin1_phone(collector: None, client: httpx.AsyncClient) -> Phone:
    headers = {"Accept-Charset": "iso-8859-1"}
    token, _ = await sign_in(client, headers=headers)
    return Phone(client, token, headers)
