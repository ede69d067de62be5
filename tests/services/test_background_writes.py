"""The audit writer writes on a connection of its own to an SQLite file: lookups never wait for it."""

import asyncio

from regie.db import tenants
from regie.services import audit, database
from regie.services.clock import now_utc
from tests import factories


async def test_only_an_sqlite_file_gets_a_second_connection() -> None:
    assert await database.open_background_connection("sqlite://:memory:") is None
    assert await database.open_background_connection("postgres://u@localhost/regie") is None


async def test_a_lookup_goes_on_while_a_batch_of_audit_events_is_being_written(
    sqlite_file: str,
) -> None:
    await factories.tenant_with_lease("Martin", code="1000001")
    background = await database.open_background_connection(sqlite_file)
    assert background is not None
    try:
        first = audit.Event(now_utc(), "user:1", "html", "account.read", "1000001", "ok")
        # The writer's transaction is open and holds SQLite's write lock …
        async with background._in_transaction() as writing:
            await writing.execute_query(
                "INSERT INTO audit_event (at, actor, surface, action, tenant_code, outcome, "
                "detail, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    first.at,
                    first.actor,
                    first.surface,
                    first.action,
                    first.tenant_code,
                    first.outcome,
                    first.detail,
                    audit.GENESIS,
                    audit._chain(audit.GENESIS, first),
                ],
            )
            # … and a lookup on the default connection answers at once, not after it.
            found = await asyncio.wait_for(tenants.Tenant.filter(code="1000001").count(), 1)
            assert found == 1
        # The events a busy server batches are chained after it, on the same connection.
        events = [audit.Event(now_utc(), "user:1", "html", "account.read", "1000001", "ok")]
        await audit.append(events, connection=background)
    finally:
        await background.close()
    report = await audit.verify_chain()
    assert report.intact and report.events_checked == 2
