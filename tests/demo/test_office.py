from datetime import UTC, datetime

import pytest

from regie.db import ledger, people, places, tenants
from regie.demo.office import DatabaseNotEmpty, DemoOptions, delete_everything, load_demo_office
from regie.services import accounts

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
OPTIONS = DemoOptions(dwellings=400, seed=7, now=NOW)


async def fingerprint() -> list[tuple[object, ...]]:
    rows = await tenants.Tenant.all().order_by("id").values_list("code", "surname", "first_name")
    balances = (
        await ledger.AccountSnapshot.all()
        .order_by("lease_id")
        .values_list("lease_id", "charged_cents", "confirmed_cents", "declared_cents")
    )
    return [*rows, *balances]


async def test_the_demo_office_is_deterministic(db: object) -> None:
    await load_demo_office(OPTIONS)
    first = await fingerprint()
    await delete_everything()
    await load_demo_office(OPTIONS)
    assert await fingerprint() == first


async def test_the_demo_office_looks_like_the_reference_office(db: object) -> None:
    report = await load_demo_office(OPTIONS)
    assert report.communes == 50 and await places.Commune.all().count() == 50
    assert report.dwellings == 400 == await places.Dwelling.all().count()
    assert 0.02 < report.vacant_dwellings / report.dwellings < 0.12
    assert 0.10 < report.leases_in_arrears / report.leases < 0.30
    assert report.declared_payments > 0 and report.rejected_payments > 0
    assert await ledger.Charge.filter(period__lt=datetime(2025, 1, 1).date()).count() > 0
    collectors = await people.User.filter(role=people.Role.COLLECTOR).count()
    assert collectors == 3 and await people.Sector.all().count() == 3


async def test_every_demo_snapshot_matches_its_ledger(db: object) -> None:
    await load_demo_office(OPTIONS)
    assert await accounts.stale_snapshots() == []


async def test_every_commune_belongs_to_exactly_one_sector(db: object) -> None:
    await load_demo_office(OPTIONS)
    counts = [await c.sectors.all().count() for c in await places.Commune.all()]
    assert set(counts) == {1}


async def test_the_demo_refuses_to_load_over_an_existing_office(db: object) -> None:
    await load_demo_office(DemoOptions(dwellings=10, now=NOW))
    with pytest.raises(DatabaseNotEmpty):
        await load_demo_office(DemoOptions(dwellings=10, now=NOW))


async def test_new_rows_after_the_demo_get_fresh_ids(db: object) -> None:
    await load_demo_office(DemoOptions(dwellings=10, now=NOW))
    highest = max(await places.Dwelling.all().values_list("id", flat=True))
    commune = await places.Commune.first()
    assert commune is not None
    dwelling = await places.Dwelling.create(
        reference="NEW1", commune_id=commune.id, address="1, rue Neuve",
        dwelling_type=places.DwellingType.T2, surface_dm2=4500,
    )  # fmt: skip
    assert dwelling.id > highest
