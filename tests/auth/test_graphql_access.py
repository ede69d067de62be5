"""The same rules through GraphQL over HTTP: sign-in, sectors, scopes, audit, limits."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from regie.auth.principal import SESSION_COOKIE
from regie.db import auth
from regie.db.people import Role
from regie.services import sessions
from regie.services.principals import viewer_for_client
from tests import factories
from tests.auth import people as make
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET, OFFICE_PASSWORD

TENANT = "query T($code: String!) { tenant(code: $code) { code surname account { arrearsCents } } }"
SEARCH = 'query { searchTenants(text: "gall") { edges { node { code } } } }'
SIGN_IN_COLLECTOR = """
mutation S($u: String!, $d: String!, $p: String!) {
  signInCollector(username: $u, deviceSecret: $d, pin: $p, surface: "html") { token expiresAt }
}
"""


async def post(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def moissac_and_montauban(db: object) -> None:
    await factories.tenant_with_lease("Le Gall", "Anne", code="1000001", commune_name="Moissac")
    await factories.tenant_with_lease("Gallet", "Marc", code="1000002", commune_name="Montauban")


@pytest.fixture
async def collector_client(
    moissac_and_montauban: None, app: Starlette
) -> AsyncIterator[httpx.AsyncClient]:
    await make.collector(commune="Moissac")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        body = await post(http, SIGN_IN_COLLECTOR, u="jldelmas", d=DEVICE_SECRET, p=COLLECTOR_PIN)
        http.cookies.set(SESSION_COOKIE, body["data"]["signInCollector"]["token"])
        yield http


async def test_anonymous_requests_read_nothing(
    client: httpx.AsyncClient, moissac_and_montauban: None
) -> None:
    body = await post(client, TENANT, code="1000001")
    assert body["data"] == {"tenant": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_collector_searches_only_their_sector(collector_client: httpx.AsyncClient) -> None:
    body = await post(collector_client, SEARCH)
    assert [e["node"]["code"] for e in body["data"]["searchTenants"]["edges"]] == ["1000001"]


async def test_outside_the_sector_a_tenant_is_like_an_unknown_code(
    collector_client: httpx.AsyncClient,
) -> None:
    outside = await post(collector_client, TENANT, code="1000002")
    unknown = await post(collector_client, TENANT, code="9999999")
    assert outside == unknown == {"data": {"tenant": None}}


async def test_aliases_do_not_widen_a_collectors_view(collector_client: httpx.AsyncClient) -> None:
    query = '{ a: tenant(code: "1000001") { code } b: tenant(code: "1000002") { code } }'
    assert await post(collector_client, query) == {"data": {"a": {"code": "1000001"}, "b": None}}


async def test_reads_and_denied_lookups_are_audited(collector_client: httpx.AsyncClient) -> None:
    await post(collector_client, TENANT, code="1000001")
    await post(collector_client, TENANT, code="1000002")
    events = await auth.AuditEvent.filter(tenant_code__isnull=False).order_by("id")
    assert [(e.action, e.tenant_code, e.outcome, e.surface) for e in events] == [
        ("tenant.read", "1000001", "ok", "graphql"),
        ("account.read", "1000001", "ok", "graphql"),
        ("tenant.read", "1000002", "denied", "graphql"),
    ]


async def test_a_treasury_token_reads_no_tenant(
    moissac_and_montauban: None, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regie.auth import principal

    async def treasury(token: str, settings: object) -> object:
        return viewer_for_client("treasury", frozenset({"confirmations:write"}))

    monkeypatch.setattr(principal, "_from_bearer", treasury)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        http.headers["authorization"] = "Bearer whatever"
        body = await post(http, TENANT, code="1000001")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_session_cookie_is_ignored_on_a_form_post(
    moissac_and_montauban: None, app: Starlette
) -> None:
    await make.office()
    opened = await sessions.sign_in_office("claire", OFFICE_PASSWORD)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", cookies={SESSION_COOKIE: opened.token}
    ) as http:
        query = '{"query": "{ tenant(code: \\"1000001\\") { code } }"}'
        # What a cross-site form can send: urlencoded, multipart or text/plain bodies.
        forged = [
            await http.post("/graphql", data={"query": query}),
            await http.post("/graphql", content=query, headers={"content-type": "text/plain"}),
        ]
        genuine = await post(http, TENANT, code="1000001")
    assert [r.status_code for r in forged] == [400, 400]
    assert all("1000001" not in r.text for r in forged)
    assert genuine["data"]["tenant"]["code"] == "1000001"


async def test_wrong_sign_ins_are_refused_alike_then_rate_limited(
    client: httpx.AsyncClient,
) -> None:
    await make.collector()
    codes = []
    for attempt in range(12):
        response = await client.post(
            "/graphql",
            json={
                "query": SIGN_IN_COLLECTOR,
                "variables": {"u": "jldelmas", "d": DEVICE_SECRET, "p": f"90817{attempt % 10}"},
            },
        )
        codes.append((response.status_code, response.json()["errors"][0]["extensions"]["code"]))
    assert codes[:10] == [(200, "SIGN_IN_REFUSED")] * 10
    assert codes[10] == (429, "RATE_LIMITED")
    assert int(response.headers["retry-after"]) > 0


async def test_me_tells_the_signed_in_user_and_scopes(collector_client: httpx.AsyncClient) -> None:
    body = await post(collector_client, "{ me { username role scopes } }")
    assert body["data"]["me"] == {
        "username": "jldelmas",
        "role": "COLLECTOR",
        "scopes": ["field:write", "tenants:read"],
    }


async def test_only_admins_revoke_sessions(
    collector_client: httpx.AsyncClient, app: Starlette
) -> None:
    mutation = 'mutation { revokeSessions(username: "jldelmas") }'
    denied = await post(collector_client, mutation)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await make.office("root", Role.ADMIN)
    opened = await sessions.sign_in_office("root", OFFICE_PASSWORD)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", cookies={SESSION_COOKIE: opened.token}
    ) as admin:
        assert (await post(admin, mutation))["data"]["revokeSessions"] == 1
    after = await post(collector_client, TENANT, code="1000001")
    assert after["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_searches_beyond_the_per_principal_limit_get_429(
    collector_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regie.services import throttle

    monkeypatch.setattr(throttle, "SEARCH_PER_PRINCIPAL", (3, 60.0))
    statuses = [
        (await collector_client.post("/graphql", json={"query": SEARCH})).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
