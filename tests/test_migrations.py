"""The committed migrations build the database the models describe, on SQLite and PostgreSQL."""

import uuid
from pathlib import Path

from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from regie.db.config import tortoise_config
from regie.services import database
from tests.conftest import TEST_DATABASE, database_url, drop_postgres_database


async def test_models_have_no_change_missing_a_migration(tmp_path: Path) -> None:
    config = tortoise_config(f"sqlite://{tmp_path / 'check.sqlite3'}")
    async with TortoiseContext() as context:
        await context.init(config=config)
        assert context.apps is not None
        changes = await MigrationAutodetector(context.apps, config["apps"]).changes()
    assert changes == [], "run: .venv/bin/tortoise makemigrations"


async def test_migrations_apply_to_an_empty_database(tmp_path: Path) -> None:
    url = (
        f"sqlite://{tmp_path / 'fresh.sqlite3'}"
        if TEST_DATABASE == "sqlite"
        else database_url().replace("{}", uuid.uuid4().hex)
    )
    config = tortoise_config(url)
    try:
        async with TortoiseContext() as context:
            await context.init(config=config, _create_db=TEST_DATABASE != "sqlite")
            await database.migrate(config)
            await database.migrate(config)  # a second run has nothing to do
            connection = connections.get("default")
            for model in Tortoise.apps["regie"].values():
                await connection.execute_query(f'SELECT COUNT(*) FROM "{model._meta.db_table}"')  # noqa: S608
            if TEST_DATABASE != "sqlite":
                # The search's columns get a finer histogram (see migration 0004).
                _, rows = await connection.execute_query(
                    "SELECT attname, attstattarget FROM pg_attribute WHERE attname IN "
                    "('word', 'search_key') AND attrelid IN "
                    "('tenant_name_word'::regclass, 'tenant'::regclass)"
                )
                assert sorted((r["attname"], r["attstattarget"]) for r in rows) == [
                    ("search_key", 1000),
                    ("word", 1000),
                ]
    finally:
        if TEST_DATABASE != "sqlite":
            await drop_postgres_database(url)


def test_no_model_description_breaks_the_migration_scripts() -> None:
    # Tortoise splits migration SQL on ";" and tracks quotes: a ";" or a lone "'" in a model
    # docstring or field description (they become SQL comments) breaks the script.
    import importlib

    from tortoise import Tortoise as _T  # noqa: F401  (models are imported through MODEL_MODULES)
    from tortoise.models import Model

    from regie.db import MODEL_MODULES

    offenders = []
    for module_name in MODEL_MODULES:
        module = importlib.import_module(module_name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Model)
                and value.__module__ == module_name
            ):
                texts = [(value.__name__, (value.__doc__ or "").strip().split("\n\n")[0])]
                texts += [
                    (f"{value.__name__}.{n}", f.description or "")
                    for n, f in value._meta.fields_map.items()
                ]
                offenders += [name for name, text in texts if ";" in text or text.count("'") % 2]
    assert offenders == []
