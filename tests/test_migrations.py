"""The committed migrations build the database the models describe, on SQLite and PostgreSQL."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.exceptions import IntegrityError
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


@asynccontextmanager
async def migrated_database(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """An empty database of the suite's kind with every migration applied; yields its config."""
    url = (
        f"sqlite://{tmp_path / 'migrated.sqlite3'}"
        if TEST_DATABASE == "sqlite"
        else database_url().replace("{}", uuid.uuid4().hex)
    )
    config = tortoise_config(url)
    try:
        async with TortoiseContext() as context:
            await context.init(config=config, _create_db=TEST_DATABASE != "sqlite")
            await database.migrate(config)
            yield config
    finally:
        if TEST_DATABASE != "sqlite":
            await drop_postgres_database(url)


async def test_migrations_apply_to_an_empty_database(tmp_path: Path) -> None:
    async with migrated_database(tmp_path) as config:
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
            # They compare bytes, whatever the database's locale (see migration 0006).
            _, rows = await connection.execute_query(
                "SELECT table_name, column_name, collation_name FROM information_schema.columns "
                "WHERE (table_name, column_name) IN (('tenant', 'code'), "
                "('tenant', 'search_key'), ('tenant_name_word', 'word'))"
            )
            assert {r["collation_name"] for r in rows} == {"C"} and len(rows) == 3


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


async def test_the_audit_log_keeps_its_indexes_when_hash_stops_being_unique(tmp_path: Path) -> None:
    # Migration 0005 rebuilds audit_event on SQLite by hand: Tortoise's own rebuild would drop
    # the indexes on "at" and "tenant_code" and the chain's unique previous_hash.
    async with migrated_database(tmp_path):
        connection = connections.get("default")
        marks = ", ".join(database.placeholder(i) for i in range(1, 10))
        insert = (
            "INSERT INTO audit_event (at, actor, surface, action, tenant_code, outcome, detail, "  # noqa: S608 - placeholders only
            f"previous_hash, hash) VALUES ({marks})"
        )
        at = datetime(2026, 11, 26, tzinfo=UTC)
        event = [at, "user:1", "html", "account.read", "1000001", "ok", ""]
        await connection.execute_query(insert, [*event, "a" * 64, "c" * 64])
        await connection.execute_query(insert, [*event, "b" * 64, "c" * 64])  # same hash: fine
        with pytest.raises(IntegrityError):  # a second event on the same previous one: a fork
            await connection.execute_query(insert, [*event, "a" * 64, "d" * 64])
        if TEST_DATABASE == "sqlite":
            _, rows = await connection.execute_query(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'audit_event' AND type = 'index'"
                " AND sql IS NOT NULL"
            )
            indexed = " ".join(row["sql"] for row in rows)
        else:
            _, rows = await connection.execute_query(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'audit_event'"
            )
            indexed = " ".join(row["indexdef"] for row in rows)
        assert '("at")' in indexed.replace("(at)", '("at")')
        assert '("tenant_code")' in indexed.replace("(tenant_code)", '("tenant_code")')


async def test_declared_payments_have_an_index_of_their_own(tmp_path: Path) -> None:
    # Matching looks for the declared payments of thousands of leases per chunk of a bank file:
    # without it, it read every payment of those leases.
    async with migrated_database(tmp_path):
        connection = connections.get("default")
        if TEST_DATABASE == "sqlite":
            _, rows = await connection.execute_query(
                "SELECT sql AS definition FROM sqlite_master WHERE tbl_name = 'payment' "
                "AND type = 'index' AND sql IS NOT NULL"
            )
        else:
            _, rows = await connection.execute_query(
                "SELECT indexdef AS definition FROM pg_indexes WHERE tablename = 'payment'"
            )
        partial = [row["definition"] for row in rows if "WHERE" in row["definition"]]
        assert len(partial) == 1 and "lease_id" in partial[0] and "'declared'" in partial[0]
