"""The committed migrations build the database the models describe, on SQLite and PostgreSQL."""

from pathlib import Path

from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from regie.db.config import tortoise_config
from regie.services import database
from tests.conftest import TEST_DATABASE, database_url


async def test_models_have_no_change_missing_a_migration(tmp_path: Path) -> None:
    config = tortoise_config(f"sqlite://{tmp_path / 'check.sqlite3'}")
    async with TortoiseContext() as context:
        await context.init(config=config)
        assert context.apps is not None
        changes = await MigrationAutodetector(context.apps, config["apps"]).changes()
    assert changes == [], "run: .venv/bin/tortoise makemigrations"


async def test_migrations_apply_to_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'fresh.sqlite3'}" if TEST_DATABASE == "sqlite" else database_url()
    config = tortoise_config(url)
    async with TortoiseContext() as context:
        await context.init(config=config, _create_db=TEST_DATABASE != "sqlite")
        try:
            await database.migrate(config)
            await database.migrate(config)  # a second run has nothing to do
            connection = connections.get("default")
            for model in Tortoise.apps["regie"].values():
                await connection.execute_query(f'SELECT COUNT(*) FROM "{model._meta.db_table}"')  # noqa: S608
        finally:
            if TEST_DATABASE != "sqlite":
                await connections.get("default").db_delete()
