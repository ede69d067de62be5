"""The Tortoise configuration: PostgreSQL's pool gives connections back without a reset query."""

import uuid

import pytest
from tortoise import connections
from tortoise.context import TortoiseContext

from regie.db.config import tortoise_config
from tests.conftest import TEST_DATABASE, database_url, drop_postgres_database


def test_only_asyncpg_connections_get_the_reset_hook() -> None:
    postgres = tortoise_config("postgres://regie@localhost/regie")["connections"]["default"]
    assert callable(postgres["credentials"]["reset"])
    sqlite = tortoise_config("sqlite://data/regie.sqlite3")["connections"]["default"]
    assert sqlite == "sqlite://data/regie.sqlite3?busy_timeout=10000"


@pytest.mark.skipif(TEST_DATABASE != "postgres", reason="PostgreSQL's connection pool only")
async def test_a_connection_back_in_the_pool_has_no_transaction_left_open() -> None:
    url = database_url().replace("{}", uuid.uuid4().hex)
    config = tortoise_config(url)
    config["connections"]["default"]["credentials"]["maxsize"] = 1  # the same connection again
    try:
        async with TortoiseContext() as context:
            await context.init(config=config, _create_db=True)
            client = connections.get("default")
            async with client.acquire_connection() as connection:
                await connection.execute("BEGIN")
            async with client.acquire_connection() as connection:
                assert not connection.is_in_transaction()
    finally:
        await drop_postgres_database(url)
