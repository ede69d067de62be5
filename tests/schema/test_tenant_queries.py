from datetime import date
from typing import Any

import httpx
import pytest

from regie.db import ledger
from regie.services import ledger as ledger_service
from tests import factories
from tests.sql_counter import count_sql

ACCOUNT_PAGE = """
query Search($text: String!, $first: Int, $after: String) {
  searchTenants(text: $text, first: $first, after: $after) {
    edges { cursor node {
      code surname firstName
      dwelling { address commune { name postalCode } }
      account {
        confirmedBalanceCents expectedBalanceCents arrearsCents arrearsDays arrearsMonths bucket
        monthlyRentCents tenantShareCents nextDueDate asOf
        lastPayment { amountCents status paidOn confirmation { bookedOn source } }
      }
    } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
TENANT = """
query Tenant($code: String!) {
  tenant(code: $code) {
    code surname firstName
    lease { rentCents serviceChargesCents housingBenefitCents tenantShareCents }
    account { confirmedBalanceCents expectedBalanceCents arrearsCents bucket lastCharge { period amountCents } }
    payments(first: 2) { edges { cursor node { amountCents status method paidOn } } pageInfo { hasNextPage endCursor } }
  }
}
"""
PAYMENTS_AFTER = """
query Payments($code: String!, $after: String) {
  tenant(code: $code) { payments(first: 2, after: $after) { edges { node { paidOn } } pageInfo { hasNextPage } } }
}
"""


async def graphql(office_client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await office_client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_search_returns_the_account_as_the_treasury_confirmed_it(
    office_client: httpx.AsyncClient,
) -> None:
    _, lease = await factories.tenant_with_lease(
        "Blanc", "Émile", code="1000001", housing_benefit_cents=15000
    )
    await factories.bill(lease, date(2026, 10, 1), date(2026, 11, 1))
    await factories.confirmed_payment(lease, 30000, date(2026, 10, 7))
    await ledger_service.declare_payment(
        lease.id, 30000, ledger.PaymentMethod.CASH, date(2026, 11, 20), ledger.PaymentSource.FIELD
    )
    body = await graphql(office_client, ACCOUNT_PAGE, text="emile")
    node = body["data"]["searchTenants"]["edges"][0]["node"]
    account = node["account"]
    assert node["code"] == "1000001" and node["firstName"] == "Émile"
    assert node["dwelling"]["commune"] == {"name": "Montauban", "postalCode": "82000"}
    assert account["confirmedBalanceCents"] == 30000
    assert account["expectedBalanceCents"] == 0
    assert account["tenantShareCents"] == 30000 and account["monthlyRentCents"] == 45000
    assert account["lastPayment"]["status"] == "DECLARED"
    assert account["lastPayment"]["confirmation"] is None
    assert account["asOf"] is not None


async def test_unknown_tenant_code_is_null_without_error(office_client: httpx.AsyncClient) -> None:
    body = await graphql(office_client, TENANT, code="0000000")
    assert body == {"data": {"tenant": None}}


async def test_tenant_by_code_shows_lease_account_and_payments(
    office_client: httpx.AsyncClient,
) -> None:
    _, lease = await factories.tenant_with_lease(
        "Durand", code="1000042", housing_benefit_cents=5000
    )
    await factories.bill(lease, date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1))
    for day in (date(2026, 9, 5), date(2026, 10, 5), date(2026, 11, 5)):
        await factories.confirmed_payment(lease, 40000, day)
    tenant = (await graphql(office_client, TENANT, code="1000042"))["data"]["tenant"]
    assert tenant["lease"]["tenantShareCents"] == 40000
    assert tenant["account"]["confirmedBalanceCents"] == 0
    assert tenant["account"]["lastCharge"] == {"period": "2026-11-01", "amountCents": 40000}
    payments = tenant["payments"]
    assert [e["node"]["paidOn"] for e in payments["edges"]] == ["2026-11-05", "2026-10-05"]
    assert payments["pageInfo"]["hasNextPage"] is True
    rest = await graphql(
        office_client, PAYMENTS_AFTER, code="1000042", after=payments["pageInfo"]["endCursor"]
    )
    assert rest["data"]["tenant"]["payments"] == {
        "edges": [{"node": {"paidOn": "2026-09-05"}}],
        "pageInfo": {"hasNextPage": False},
    }


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"text": "e"}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x" * 101}, "text"),
        ({"text": "emile", "first": 51}, "first"),
        ({"text": "emile", "first": 0}, "first"),
        ({"text": "emile", "after": "not a cursor!"}, "after"),
    ],
)
async def test_malformed_arguments_get_an_error_naming_the_argument(
    office_client: httpx.AsyncClient, variables: dict[str, Any], argument: str
) -> None:
    body = await graphql(office_client, ACCOUNT_PAGE, **variables)
    error = body["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    assert f"'{argument}'" in error["message"]


async def test_a_wrongly_typed_variable_is_a_validation_error(
    office_client: httpx.AsyncClient,
) -> None:
    body = await graphql(office_client, ACCOUNT_PAGE, text="emile", first="twenty")
    assert "first" in body["errors"][0]["message"]
    assert "data" not in body or body["data"] is None


async def test_internal_errors_reach_the_client_masked(
    office_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regie.services import tenants

    async def broken(*args: object) -> None:
        raise RuntimeError('SELECT * FROM "tenant" -- secret detail')

    monkeypatch.setattr(tenants, "tenant_with_lease_by_code", broken)
    body = await graphql(office_client, TENANT, code="1000001")
    assert body["errors"][0]["message"].startswith("Unexpected error.")
    assert "SELECT" not in str(body) and "Traceback" not in str(body)


async def test_graphql_response_json_media_type_and_400_on_request_errors(
    office_client: httpx.AsyncClient,
) -> None:
    headers = {"accept": "application/graphql-response+json"}
    ok = await office_client.post(
        "/graphql", json={"query": '{ tenant(code: "1") { code } }'}, headers=headers
    )
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("application/graphql-response+json")
    broken = await office_client.post(
        "/graphql", json={"query": "{ tenant { nope } }"}, headers=headers
    )
    assert broken.status_code == 400


async def test_a_page_of_tenants_costs_a_fixed_number_of_statements(
    office_client: httpx.AsyncClient,
) -> None:
    for n in range(25):
        _, lease = await factories.tenant_with_lease(f"Martin{n:02d}", code=f"{5000000 + n}")
        await factories.bill(lease, date(2026, 10, 1), date(2026, 11, 1))
        await factories.confirmed_payment(lease, 45000, date(2026, 10, 6))
    counts = {}
    for page_size in (3, 20):
        with count_sql() as statements:
            body = await graphql(office_client, ACCOUNT_PAGE, text="martin", first=page_size)
        assert len(body["data"]["searchTenants"]["edges"]) == page_size
        counts[page_size] = len(statements)
    # the session with its user and device (1); the search: exact-code and surname-prefix ranks
    # together (1); the tenants with their current leases, dwellings, communes, snapshots, last
    # payments and confirmations (1); the audit log's last hash and the insert (2)
    assert counts == {3: 5, 20: 5}
