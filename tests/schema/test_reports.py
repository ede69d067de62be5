"""The arrearsReport query: office staff only, and office-wide sums beyond GraphQL's 32-bit Int."""

from __future__ import annotations

from typing import Any

import pytest

from regie.context import Context
from regie.db.people import Role
from regie.schema.schema import schema
from regie.services import billing
from regie.services.access import ROLE_SCOPES, Viewer
from regie.services.clock import office_today
from tests import factories

pytestmark = pytest.mark.usefixtures("db")

REPORT = (
    "{ arrearsReport { households householdsInArrears arrearsCents billedCents collectionRate } }"
)
OFFICE = Viewer.office_wide(user_id=None)
COLLECTOR = Viewer(
    user_id=7, role=Role.COLLECTOR, commune_ids=frozenset(), scopes=ROLE_SCOPES[Role.COLLECTOR]
)


async def run(viewer: Viewer) -> Any:
    return await schema.execute(REPORT, context_value=Context(viewer=viewer))


async def test_office_wide_sums_beyond_32_bits_are_exact() -> None:
    last_month = billing.add_months(billing.first_of_month(office_today()), -1)
    for surname in ("Grand", "Large"):
        _, lease = await factories.tenant_with_lease(
            surname, rent_cents=1_500_000_000, service_charges_cents=0
        )
        await factories.bill(lease, last_month)
    result = await run(OFFICE)
    assert result.errors is None, result.errors
    assert result.data == {
        "arrearsReport": {
            "households": 2,
            "householdsInArrears": 2,
            "arrearsCents": 3_000_000_000,
            "billedCents": 3_000_000_000,
            "collectionRate": 0.0,
        }
    }


async def test_collectors_are_refused() -> None:
    result = await run(COLLECTOR)
    assert result.errors is not None
    assert (result.errors[0].extensions or {}).get("code") == "FORBIDDEN"


async def test_collectors_may_not_read_a_full_ledger() -> None:
    await factories.tenant_with_lease("Grand", code="1000001")
    result = await schema.execute(
        '{ tenantLedger(code: "1000001") { balanceCents } }',
        context_value=Context(viewer=COLLECTOR),
    )
    assert result.errors is not None
    assert (result.errors[0].extensions or {}).get("code") == "FORBIDDEN"
