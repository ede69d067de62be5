"""The audit log's ``hash`` column loses its unique index.

``previous_hash`` stays unique: two writers chaining onto the same event cannot both succeed,
which is what keeps the chain from forking. A second unique index on ``hash`` added nothing
to that, and cost a random-order B-tree insert per event: with ~20 audited account reads per
search, the lookups' p95 on SQLite went from ~23 ms to ~18 ms without it.

Tortoise's own AlterField rebuilds an SQLite table from the model state and loses the table's
other indexes and constraints on the way, so this migration rebuilds the table itself and
recreates every index it had; PostgreSQL just drops the constraint.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

SQLITE_TABLE = (
    'CREATE TABLE "audit_event_rebuilt" ('
    '"id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "at" TIMESTAMP NOT NULL, '
    '"actor" VARCHAR(80) NOT NULL, "surface" VARCHAR(10) NOT NULL, "action" VARCHAR(40) NOT NULL, '
    '"tenant_code" VARCHAR(12), "outcome" VARCHAR(10) NOT NULL, "detail" VARCHAR(200) NOT NULL, '
    '"previous_hash" VARCHAR(64) NOT NULL UNIQUE, "hash" VARCHAR(64) NOT NULL)'
)
COLUMNS = '"id", "at", "actor", "surface", "action", "tenant_code", "outcome", "detail", "previous_hash", "hash"'


class AlterHashUniqueness(ops.AlterField):
    """AlterField for the migration state; the database change is done here, by hand."""

    def __init__(self, unique: bool) -> None:
        super().__init__("AuditEvent", "hash", fields.CharField(max_length=64, unique=unique))
        self.unique = unique

    async def database_forward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None:
            await self._apply(state_editor.client, self.unique)

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None:
            await self._apply(state_editor.client, not self.unique)

    @staticmethod
    async def _apply(client: Any, unique: bool) -> None:
        if client.capabilities.dialect == "postgres":
            if unique:
                await client.execute_script(
                    'ALTER TABLE "audit_event" ADD CONSTRAINT "audit_event_hash_key" UNIQUE ("hash")'
                )
            else:
                await client.execute_script(
                    'ALTER TABLE "audit_event" DROP CONSTRAINT IF EXISTS "audit_event_hash_key"'
                )
            return
        if unique:
            await client.execute_script(
                'CREATE UNIQUE INDEX "uid_audit_event_hash" ON "audit_event" ("hash")'
            )
            return
        _, rows = await client.execute_query(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'audit_event' AND type = 'index' "
            "AND sql IS NOT NULL"
        )
        indexes = [row["sql"] for row in rows]
        await client.execute_script(SQLITE_TABLE)
        await client.execute_script(
            f'INSERT INTO "audit_event_rebuilt" ({COLUMNS}) SELECT {COLUMNS} FROM "audit_event"'
        )
        await client.execute_script('DROP TABLE "audit_event"')
        await client.execute_script('ALTER TABLE "audit_event_rebuilt" RENAME TO "audit_event"')
        for index in indexes:
            if "uid_audit_event_hash" not in index:
                await client.execute_script(index)


class Migration(migrations.Migration):
    dependencies = [('regie', '0004_tenant_name_word_covering_index')]

    initial = False

    operations = [AlterHashUniqueness(unique=False)]
