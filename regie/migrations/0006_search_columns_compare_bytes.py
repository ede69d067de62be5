"""On PostgreSQL, the searched columns compare text byte by byte (the ``C`` collation).

The search reads a prefix as an index range (``search_key >= 'martin' AND search_key < 'martio'``)
and ranks by ``search_key`` then ``code``: both give SQLite's answer (``BINARY``) only if the
database compares bytes. A database created with a linguistic locale (``fr_FR.UTF-8``) ignores
spaces and hyphens at first: its ranges would miss or add names, and its order would differ from
SQLite's. The columns now say so themselves, whatever the database's default; their indexes are
rebuilt with them. SQLite needs nothing.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

COLUMNS = (("tenant", "code"), ("tenant", "search_key"), ("tenant_name_word", "word"))


async def _collate(schema_editor: Any, collation: str) -> None:
    client = schema_editor.client
    if client.capabilities.dialect != "postgres":
        return
    for table, column in COLUMNS:
        rows = await client.execute_query_dict(
            "SELECT character_maximum_length AS length FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
            [table, column],
        )
        length = rows[0]["length"]
        await client.execute_script(
            f'ALTER TABLE "{table}" ALTER COLUMN "{column}" '
            f'TYPE VARCHAR({length}) COLLATE {collation}'
        )
    # A column whose type changed has lost its statistics, and the search's plans need them.
    for table in sorted({table for table, _ in COLUMNS}):
        await client.execute_script(f'ANALYZE "{table}"')


async def compare_bytes(apps: Any, schema_editor: Any) -> None:
    await _collate(schema_editor, '"C"')


async def compare_by_default(apps: Any, schema_editor: Any) -> None:
    await _collate(schema_editor, '"default"')


class Migration(migrations.Migration):
    dependencies = [('regie', '0005_audit_event_hash_not_unique')]

    initial = False

    operations = [ops.RunPython(compare_bytes, compare_by_default)]
