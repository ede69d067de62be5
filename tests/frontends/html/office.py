"""Offices for the HTML page tests: a known household in a collector's sector, on any database.

``add_household`` writes, next to whatever the database holds, three homonyms "DELAUNAY-RIBÈRE"
(two in the demo collector jldelmas's sector, told apart by commune and address, one outside it)
and a ledger for the first one whose figures the tests assert:

- 14 monthly charges of 673,45 € (rent 610,00 + charges 63,45), the last one last month;
- 11 confirmed transfers of 673,45 €: 10 in past months, the last one booked yesterday and applied
  by the treasury a moment ago ("confirmé il y a 1 min");
- one cheque of 673,45 € rejected, and 500,00 € in cash declared today, awaiting the treasury.

So: confirmed balance 2 020,35 €, expected 1 520,35 €, arrears 2 020,35 € (3 months), 13 payments.

``python -m tests.frontends.html.office sqlite:///path/regie.sqlite3 DWELLINGS`` builds a demo office of
DWELLINGS dwellings (schema generated, not migrated) plus that household, and prints the facts as JSON
(the browser tests serve that file with uvicorn in another process).
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time, timedelta

from regie.db import ledger, places, tenants, treasury
from regie.services import billing, names
from regie.services import ledger as ledger_service
from regie.services.clock import office_today

SURNAME = "Delaunay-Ribère"
RENT_CENTS = 61000
CHARGES_CENTS = 6345
MONTHLY_CENTS = RENT_CENTS + CHARGES_CENTS
CONFIRMED_BALANCE = "2 020,35 €"
EXPECTED_BALANCE = "1 520,35 €"
ARREARS_MONTHS = "3 mois"
TENANT_SHARE = "673,45 €/mois"
PAYMENTS = 13
REJECTION_REASON = "Chèque impayé : provision insuffisante"


@dataclass(frozen=True)
class Household:
    code: str
    """Émile, Moissac: the account the tests open."""
    homonym_code: str
    """Émile too, Castelsarrasin: same sector."""
    outsider_code: str
    """Anaïs, Montauban: outside jldelmas's sector."""
    moissac_address: str
    castelsarrasin_address: str


async def _tenant(
    code: str, first_name: str, title: str, commune_name: str, address: str
) -> tenants.Lease:
    commune = await places.Commune.filter(name=commune_name).first()
    if commune is None:
        postal = {"Moissac": "82200", "Castelsarrasin": "82100"}.get(commune_name, "82000")
        commune = await places.Commune.create(name=commune_name, postal_code=postal)
    dwelling = await places.Dwelling.create(
        reference=f"H{code}",
        commune_id=commune.id,
        address=address,
        dwelling_type=places.DwellingType.T3,
        surface_dm2=6800,
    )
    tenant = await tenants.Tenant.create(
        code=code,
        title=title,
        surname=SURNAME,
        first_name=first_name,
        search_key=names.search_key(SURNAME, first_name),
    )
    await tenants.TenantNameWord.bulk_create(
        [
            tenants.TenantNameWord(tenant_id=tenant.id, word=word)
            for word in names.name_words(SURNAME, first_name)
        ]
    )
    today = office_today()
    return await tenants.Lease.create(
        dwelling_id=dwelling.id,
        tenant_id=tenant.id,
        start_date=billing.add_months(billing.first_of_month(today), -14),
        rent_cents=RENT_CENTS,
        service_charges_cents=CHARGES_CENTS,
        housing_benefit_cents=0,
    )


async def add_household() -> Household:
    household = Household(
        code="7700001",
        homonym_code="7700002",
        outsider_code="7700003",
        moissac_address="14, avenue du Chasselas, bât. B, appt 07",
        castelsarrasin_address="3, rue de l'Égalité",
    )
    lease = await _tenant(household.code, "Émile", "M.", "Moissac", household.moissac_address)
    await _tenant(
        household.homonym_code, "Émile", "M.", "Castelsarrasin", household.castelsarrasin_address
    )
    await _tenant(household.outsider_code, "Anaïs", "Mme", "Montauban", "1, place Nationale")

    today = office_today()
    this_month = billing.first_of_month(today)
    for months_ago in range(14, 0, -1):
        await ledger_service.bill_month(lease.id, billing.add_months(this_month, -months_ago))
    for months_ago in range(14, 4, -1):
        booked = billing.add_months(this_month, -months_ago).replace(day=3)
        await ledger_service.record_confirmed_payment(
            lease.id,
            MONTHLY_CENTS,
            ledger.PaymentMethod.TRANSFER,
            booked_on=booked,
            channel=treasury.ConfirmationChannel.FILE,
            source="DGFiP test",
            applied_at=datetime.combine(booked + timedelta(days=1), time(9), UTC),
        )
    cheque_day = billing.add_months(this_month, -2).replace(day=4)
    cheque = await ledger_service.record_confirmed_payment(
        lease.id,
        MONTHLY_CENTS,
        ledger.PaymentMethod.CHEQUE,
        booked_on=cheque_day,
        channel=treasury.ConfirmationChannel.FILE,
        source="DGFiP test",
        applied_at=datetime.combine(cheque_day + timedelta(days=1), time(9), UTC),
    )
    await ledger_service.reject_payment(
        cheque.id,
        REJECTION_REASON,
        rejected_at=datetime.combine(cheque_day + timedelta(days=9), time(9), UTC),
    )
    await ledger_service.record_confirmed_payment(
        lease.id,
        MONTHLY_CENTS,
        ledger.PaymentMethod.TRANSFER,
        booked_on=today - timedelta(days=1),
        channel=treasury.ConfirmationChannel.PUSH,
        source="DGFiP test",
    )
    await ledger_service.declare_payment(
        lease.id, 50000, ledger.PaymentMethod.CASH, today, ledger.PaymentSource.FIELD
    )
    return household


async def _build(url: str, dwellings: int) -> Household:
    from tortoise.context import TortoiseContext

    from regie.db.config import tortoise_config
    from regie.demo.office import DemoOptions, load_demo_office

    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(url))
        await context.generate_schemas()
        await load_demo_office(DemoOptions(dwellings=dwellings))
        return await add_household()


if __name__ == "__main__":
    built = asyncio.run(_build(sys.argv[1], int(sys.argv[2])))
    print(json.dumps(asdict(built)))
