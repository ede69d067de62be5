from collections.abc import AsyncIterator

import httpx
import pytest

from regie.app import create_app
from regie.settings import load_settings


async def test_home_page_links_to_graphiql_in_development(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert 'href="/graphql"' in response.text


async def test_graphiql_is_served_in_development(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


@pytest.fixture
async def production_client(db: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        load_settings(
            {
                "REGIE_ENV": "production",
                "REGIE_SECRET_KEY": "k" * 40,
                "REGIE_ISSUER": "https://regie.example",
            }
        )
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        yield http


async def test_production_serves_neither_graphiql_nor_queries_over_get(
    production_client: httpx.AsyncClient,
) -> None:
    page = await production_client.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    query = await production_client.get("/graphql", params={"query": "{ __typename }"})
    assert query.status_code in (400, 404, 405)


def test_settings_refuse_an_unknown_environment() -> None:
    with pytest.raises(ValueError, match="REGIE_ENV"):
        load_settings({"REGIE_ENV": "staging"})


def test_settings_default_to_an_sqlite_file_under_data() -> None:
    settings = load_settings({})
    assert settings.database_url == "sqlite://data/regie.sqlite3"
    assert (settings.host, settings.port, settings.environment) == (
        "127.0.0.1",
        8000,
        "development",
    )


async def test_the_access_log_never_holds_a_query_string(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.INFO, logger="regie.access"):
        await client.get("/wml/recherche", params={"s": "secret-session-token"})
    lines = [r.getMessage() for r in caplog.records if r.name == "regie.access"]
    assert lines and "/wml/recherche" in lines[0]
    assert "secret-session-token" not in "".join(lines)
