"""Small, explicit offices for tests: every figure a test asserts is visible in the test."""

from __future__ import annotations

from datetime import date

from regie.db import ledger, people, places, tenants
from regie.services import billing, names
from regie.services import ledger as ledger_service

_counter = {"n": 0}


def _next() -> int:
    _counter["n"] += 1
    return _counter["n"]


async def commune(name: str = "Montauban", postal_code: str = "82000") -> places.Commune:
    found = await places.Commune.get_or_none(name=name, postal_code=postal_code)
    return found or await places.Commune.create(name=name, postal_code=postal_code)


async def tenant_with_lease(
    surname: str,
    first_name: str = "Jean",
    *,
    code: str | None = None,
    commune_name: str = "Montauban",
    address: str | None = None,
    rent_cents: int = 40000,
    service_charges_cents: int = 5000,
    housing_benefit_cents: int = 0,
    start: date = date(2020, 1, 1),
) -> tuple[tenants.Tenant, tenants.Lease]:
    n = _next()
    place = await commune(commune_name)
    dwelling = await places.Dwelling.create(
        reference=f"T{n:06d}",
        commune_id=place.id,
        address=address or f"{n}, rue des Lilas",
        dwelling_type=places.DwellingType.T3,
        surface_dm2=6500,
    )
    tenant = await tenants.Tenant.create(
        code=code or f"{9000000 + n}",
        title="M.",
        surname=surname,
        first_name=first_name,
        search_key=names.search_key(surname, first_name),
    )
    await tenants.TenantNameWord.bulk_create(
        [
            tenants.TenantNameWord(tenant_id=tenant.id, word=w)
            for w in names.name_words(surname, first_name)
        ]
    )
    lease = await tenants.Lease.create(
        dwelling_id=dwelling.id,
        tenant_id=tenant.id,
        start_date=start,
        rent_cents=rent_cents,
        service_charges_cents=service_charges_cents,
        housing_benefit_cents=housing_benefit_cents,
    )
    return tenant, lease


async def bill(lease: tenants.Lease, *periods: date) -> None:
    for period in periods:
        await ledger_service.bill_month(lease.id, period)


async def confirmed_payment(
    lease: tenants.Lease, amount_cents: int, booked_on: date
) -> ledger.Payment:
    from regie.db.treasury import ConfirmationChannel

    return await ledger_service.record_confirmed_payment(
        lease.id,
        amount_cents,
        ledger.PaymentMethod.TRANSFER,
        booked_on=booked_on,
        channel=ConfirmationChannel.FILE,
        source="DGFiP test",
    )


async def collector_with_sector(username: str, *commune_names: str) -> people.User:
    user = await people.User.create(
        username=username, full_name=username.title(), role=people.Role.COLLECTOR
    )
    sector = await people.Sector.create(name=f"Secteur {username}", collector=user)
    for name in commune_names:
        await sector.communes.add(await commune(name))
    return user


__all__ = [
    "bill",
    "billing",
    "collector_with_sector",
    "commune",
    "confirmed_payment",
    "tenant_with_lease",
]
