from datetime import timedelta

import pytest

from regie.db import auth
from regie.db.people import Role
from regie.services import audit
from regie.services.access import AccessDenied, Viewer
from regie.services.clock import now_utc

ADMIN = Viewer.office_wide(user_id=1, role=Role.ADMIN)


async def write(*actions: str) -> None:
    trail = audit.AuditTrail("user:1", "graphql")
    for action in actions:
        trail.note(action, "1000001")
    await trail.flush()


async def test_events_are_chained_and_the_chain_verifies(db: object) -> None:
    await write("tenant.read", "account.read")
    await write("account.read")
    report = await audit.verify_chain()
    assert report.intact and report.events_checked == 3


async def test_editing_an_event_breaks_the_chain_there(db: object) -> None:
    await write("tenant.read", "account.read", "account.read")
    second = (await auth.AuditEvent.all().order_by("id"))[1]
    await auth.AuditEvent.filter(id=second.id).update(actor="user:2")
    report = await audit.verify_chain()
    assert not report.intact and report.first_broken_id == second.id


async def test_deleting_an_event_breaks_the_chain(db: object) -> None:
    await write("tenant.read", "account.read", "account.read")
    second = (await auth.AuditEvent.all().order_by("id"))[1]
    await auth.AuditEvent.filter(id=second.id).delete()
    assert not (await audit.verify_chain()).intact


async def test_a_batch_longer_than_one_statement_stays_one_chain(db: object) -> None:
    # A read without a tenant (a search) has no code: PostgreSQL gets it as NULL in an array.
    codes = [None if n % 2 == 0 else f"{1000000 + n}" for n in range(2 * audit.ROWS_PER_INSERT + 1)]
    events = [audit.Event(now_utc(), "user:1", "html", "account.read", c, audit.OK) for c in codes]
    await audit.append(events)
    report = await audit.verify_chain()
    assert report.intact and report.events_checked == len(events)
    assert await auth.AuditEvent.filter(tenant_code=None).count() == audit.ROWS_PER_INSERT + 1


async def test_two_writers_never_fork_the_chain(db: object) -> None:
    import asyncio

    await asyncio.gather(*(write(f"action{n}") for n in range(10)))
    report = await audit.verify_chain()
    assert report.intact and report.events_checked == 10


async def test_purging_old_events_keeps_the_rest_verifiable_and_is_itself_logged(
    db: object,
) -> None:
    await write("tenant.read", "account.read")
    await auth.AuditEvent.all().update(at=now_utc() - timedelta(days=400))
    await write("account.read")
    deleted = await audit.purge(now_utc() - timedelta(days=365))
    assert deleted == 2
    actions = [e.action for e in await auth.AuditEvent.all().order_by("id")]
    assert actions == ["account.read", "audit.purge"]
    assert (await audit.verify_chain()).intact


async def test_only_admins_read_the_log(db: object) -> None:
    await write("tenant.read")
    assert [e.action for e in await audit.list_events(ADMIN)] == ["tenant.read"]
    with pytest.raises(AccessDenied):
        await audit.list_events(Viewer.office_wide(user_id=2, role=Role.OFFICE))


async def test_an_import_is_audited_with_who_and_what_became_of_it(db: object) -> None:
    from regie.treasury import importer

    csv = (
        "reference;date_comptable;montant;devise;payeur;libelle\nR1;26/11/2026;120,00;EUR;X;loyer\n"
    )
    await importer.import_file(
        csv.encode(), source="user:7", file_name="novembre.csv", format="csv"
    )
    event = await auth.AuditEvent.get(action="treasury.import")
    assert (event.actor, event.surface) == ("user:7", "file")
    assert "1 read" in event.detail and "1 unmatched" in event.detail
    assert (await audit.verify_chain()).intact


async def test_the_servers_writer_batches_read_events_and_drains_them_on_stop(db: object) -> None:
    import asyncio

    writer = audit.AuditWriter(interval=0.05)
    audit.use_writer(writer)
    running = asyncio.create_task(writer.run())
    try:
        await asyncio.sleep(0)
        await write("tenant.read", "account.read")
        await write("account.read")
        await writer.stop()
        await running
    finally:
        audit.use_writer(None)
    assert await auth.AuditEvent.all().count() == 3
    assert (await audit.verify_chain()).intact


async def test_each_tenant_an_import_changes_is_audited(db: object) -> None:
    from datetime import date

    from regie.treasury import importer
    from tests import factories

    _, lease = await factories.tenant_with_lease("Dupré", code="1004217")
    await factories.bill(lease, date(2026, 11, 1))
    csv = (
        "reference;date_comptable;montant;devise;payeur;libelle;code_locataire\n"
        "R1;06/11/2026;450,00;EUR;DUPRE;loyer novembre;1004217\n"
    )
    await importer.import_file(
        csv.encode(), source="client:treasury", file_name="n.csv", format="csv"
    )
    event = await auth.AuditEvent.get(tenant_code="1004217")
    assert (event.actor, event.surface, event.outcome) == ("client:treasury", "file", "ok")
    assert event.action.startswith("treasury.")
