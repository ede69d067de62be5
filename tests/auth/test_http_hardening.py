"""Production mode: the GraphQL and HTTP hardening, each with the attack refused and the use allowed."""

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from regie.app import create_app
from regie.auth.principal import SESSION_COOKIE
from regie.services import sessions
from regie.settings import load_settings
from tests.auth import people as make
from tests.conftest import OFFICE_PASSWORD


@pytest.fixture
def production_app() -> Starlette:
    return create_app(
        load_settings(
            {
                "REGIE_ENV": "production",
                "REGIE_SECRET_KEY": "x" * 40,
                "REGIE_ISSUER": "https://regie.example",
            }
        )
    )


@pytest.fixture
async def production_client(
    db: object, production_app: Starlette
) -> AsyncIterator[httpx.AsyncClient]:
    await make.office()
    opened = await sessions.sign_in_office("claire", OFFICE_PASSWORD)
    transport = httpx.ASGITransport(app=production_app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="https://regie.example",
        cookies={SESSION_COOKIE: opened.token},
    ) as http:
        yield http


async def ask(http: httpx.AsyncClient, query: str) -> httpx.Response:
    return await http.post("/graphql", json={"query": query})


async def test_introspection_is_off_in_production(production_client: httpx.AsyncClient) -> None:
    body = (await ask(production_client, "{ __schema { types { name } } }")).json()
    assert "introspection" in body["errors"][0]["message"].lower()
    assert (await ask(production_client, "{ me { username } }")).json()["data"]["me"][
        "username"
    ] == "claire"


async def test_field_suggestions_are_off_in_production(
    production_client: httpx.AsyncClient,
) -> None:
    body = (await ask(production_client, '{ tenantt(code: "1") { code } }')).json()
    assert "Did you mean" not in body["errors"][0]["message"]


async def test_introspection_works_in_development(office_client: httpx.AsyncClient) -> None:
    body = (await ask(office_client, "{ __schema { queryType { name } } }")).json()
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_deep_queries_are_refused(office_client: httpx.AsyncClient) -> None:
    # The schema itself has no cycle; introspection does, and is the classic deep-query attack.
    cycle = "fields { type { " * 6 + "name" + " } }" * 6
    deep = (await ask(office_client, "{ __schema { types { " + cycle + " } } }")).json()
    assert "depth" in deep["errors"][0]["message"].lower()
    deepest_real = (
        '{ searchTenants(text: "ab") { edges { node { payments { edges { node '
        "{ confirmation { source } } } } } } } }"
    )
    assert "errors" not in (await ask(office_client, deepest_real)).json()


async def test_aliases_beyond_the_limit_are_refused(production_client: httpx.AsyncClient) -> None:
    many = "{ " + " ".join(f'a{n}: tenant(code: "{n}") {{ code }}' for n in range(16)) + " }"
    few = "{ " + " ".join(f'a{n}: tenant(code: "{n}") {{ code }}' for n in range(5)) + " }"
    assert "aliases" in (await ask(production_client, many)).json()["errors"][0]["message"].lower()
    assert "errors" not in (await ask(production_client, few)).json()


async def test_documents_beyond_the_token_limit_are_refused(
    production_client: httpx.AsyncClient,
) -> None:
    huge = "{ " + "me { username } " * 700 + "}"
    assert "token" in (await ask(production_client, huge)).json()["errors"][0]["message"].lower()


async def test_batched_queries_are_refused(production_client: httpx.AsyncClient) -> None:
    response = await production_client.post("/graphql", json=[{"query": "{ me { username } }"}] * 2)
    assert response.status_code == 400


async def test_mutations_over_get_are_refused(production_client: httpx.AsyncClient) -> None:
    response = await production_client.get("/graphql", params={"query": "mutation { signOut }"})
    assert response.status_code in (400, 405)


async def test_bodies_over_the_cap_are_refused_before_being_read(
    production_client: httpx.AsyncClient,
) -> None:
    response = await production_client.post(
        "/graphql", content=b"x" * (17 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_streamed_bodies_over_the_cap_are_refused(
    production_client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * (1024 * 1024)

    response = await production_client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_every_response_carries_security_headers_and_no_store(
    production_client: httpx.AsyncClient,
) -> None:
    response = await ask(production_client, "{ me { username } }")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_production_refuses_to_start_without_a_secret_key() -> None:
    with pytest.raises(ValueError, match="REGIE_SECRET_KEY"):
        load_settings({"REGIE_ENV": "production", "REGIE_ISSUER": "https://regie.example"})
