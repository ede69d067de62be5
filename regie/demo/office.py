"""The demo office: a deterministic, seeded public housing office around Montauban.

``load_demo_office(DemoOptions(dwellings=3500))`` builds the reference office: 3,500 dwellings in
50 communes of Tarn-et-Garonne, about 3,300 running leases, 3 collectors with their sectors,
24 months of charges and payments, one household in six in arrears, payments awaiting treasury
confirmation and a few rejected cheques. The same seed and day give the same office.
``dwellings=125000`` builds an office the size of France's largest, for benchmarks.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from faker import Faker
from tortoise.models import Model
from tortoise.transactions import in_transaction

from regie.db import ledger, people, places, tenants, treasury
from regie.demo.ledger import DemoPayment, draw_ledger, draw_profile
from regie.services import accounts, billing, names, oauth_clients, users
from regie.services.access import CONFIRMATIONS_WRITE
from regie.services.clock import OFFICE_TIMEZONE, now_utc
from regie.services.database import analyze, delete_all_rows, reset_id_sequences

COMMUNES_FILE = Path(__file__).with_name("communes.csv")
WINDOW_MONTHS = 24
CHUNK_DWELLINGS = 500

# Most of the stock lies in the four towns; the rest is spread over the other communes.
MAIN_TOWNS = {"Montauban": 36.0, "Castelsarrasin": 10.0, "Moissac": 9.0, "Caussade": 6.0}
GARONNE_AND_LOMAGNE = {
    "Castelsarrasin", "Moissac", "Valence", "Beaumont-de-Lomagne", "Montech", "Grisolles",
    "Verdun-sur-Garonne", "Lavit", "Auvillar", "Saint-Nicolas-de-la-Grave", "Labastide-du-Temple",
    "La Ville-Dieu-du-Temple", "Lacourt-Saint-Pierre", "Finhan", "Bourret", "Escatalens",
    "Saint-Porquier", "Meauzac", "Castelmayran", "Fabas", "Canals", "Dieupentale", "Pompignan",
    "Saint-Sardos", "Larrazet",
}  # fmt: skip
# DEMO ONLY credentials, printed in the README: anyone who reads it can sign in to a demo office.
COLLECTORS = (
    # username, name, sector, PIN, enrolled device secret
    ("smarty", "Sophie Marty", "Montauban", "246810", "11111 22222 33333 44444"),
    ("jldelmas", "Jean-Luc Delmas", "Garonne et Lomagne", "135790", "22222 33333 44444 55555"),
    ("nbenali", "Nadia Benali", "Quercy et vallée du Tarn", "975318", "33333 44444 55555 66666"),
)
TREASURY_CLIENT_ID = "demo-treasury"
TREASURY_CLIENT_SECRET = "demo-treasury-secret-not-for-production-use"  # noqa: S105 - demo only
OFFICE_USERS = (
    ("crouquette", "Claire Rouquette", people.Role.OFFICE, "demo-bureau-2026"),
    ("admin", "Administrateur Régie", people.Role.ADMIN, "demo-admin-2026"),
)
RESIDENCE_NAMES = (
    "Les Acacias", "Les Tilleuls", "Le Clos des Vignes", "Jean Jaurès", "Les Hauts de Sapiac",
    "Le Mail", "Les Chênes", "La Roseraie", "Le Moulin", "Les Coteaux", "Bellevue", "Le Verger",
    "Les Platanes", "Pierre et Marie Curie", "Le Parc", "Les Jardins du Tarn", "La Garenne",
    "Saint-Exupéry", "Les Terrasses de l'Aveyron", "Villebourbon", "Le Fort", "Les Lilas",
)  # fmt: skip
# Names that stress search and display: accents, apostrophes, compound and multi-word surnames.
SPECIAL_SURNAMES = (
    "Le Gall", "N'Diaye", "Saint-Jean", "Müller-Lefèvre", "D'Almeida", "Le Goff", "De Sousa",
    "Ben Saïd", "Lefèvre-Pontalis", "O'Brien", "Da Costa", "Nguyễn", "Öztürk", "Château-Chênebœuf",
    "Des Gachons de la Cœurderoy-Montauzié",
)  # fmt: skip
SPECIAL_MALE_NAMES = ("Émile", "Jean-François", "Loïc", "Noël", "François-Xavier", "Maël")
SPECIAL_FEMALE_NAMES = ("Éloïse", "Marie-Thérèse", "Gaëlle", "Anaïs", "Zoé", "Hélène")
DWELLING_SURFACES_M2 = {
    places.DwellingType.T1: (24, 34),
    places.DwellingType.T2: (40, 54),
    places.DwellingType.T3: (58, 74),
    places.DwellingType.T4: (74, 90),
    places.DwellingType.T5: (88, 108),
    places.DwellingType.T6: (104, 130),
}
DWELLING_TYPE_WEIGHTS = (12, 26, 33, 20, 7, 2)


class DatabaseNotEmpty(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoOptions:
    dwellings: int = 3500
    seed: int = 20261126
    now: datetime | None = None
    """The moment the office is generated at (UTC); default: now. Fix it for a reproducible office."""


@dataclass
class DemoReport:
    communes: int = 0
    dwellings: int = 0
    vacant_dwellings: int = 0
    tenants: int = 0
    leases: int = 0
    running_leases: int = 0
    charges: int = 0
    payments: int = 0
    declared_payments: int = 0
    rejected_payments: int = 0
    leases_in_arrears: int = 0


@dataclass
class _Ids:
    """Ids handed out in Python so that related rows can be written in bulk without reading back."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, kind: str) -> int:
        value = self.next.get(kind, 1)
        self.next[kind] = value + 1
        return value


@dataclass
class _Rows:
    """Rows waiting to be written, in foreign-key order."""

    residences: list[places.Residence] = field(default_factory=list)
    dwellings: list[places.Dwelling] = field(default_factory=list)
    tenant_rows: list[tenants.Tenant] = field(default_factory=list)
    words: list[tenants.TenantNameWord] = field(default_factory=list)
    leases: list[tenants.Lease] = field(default_factory=list)
    charges: list[ledger.Charge] = field(default_factory=list)
    payments: list[ledger.Payment] = field(default_factory=list)
    confirmations: list[treasury.Confirmation] = field(default_factory=list)
    snapshots: list[ledger.AccountSnapshot] = field(default_factory=list)

    def batches(self) -> list[Sequence[Model]]:
        return [
            self.residences, self.dwellings, self.tenant_rows, self.words, self.leases,
            self.charges, self.payments, self.confirmations, self.snapshots,
        ]  # fmt: skip


Progress = Callable[[int, int], None]


async def database_is_empty() -> bool:
    return not await places.Commune.exists() and not await tenants.Tenant.exists()


async def delete_everything() -> None:
    """Empty every table (``demo --reset``)."""
    await delete_all_rows()


async def load_demo_office(options: DemoOptions, progress: Progress | None = None) -> DemoReport:
    """Write the demo office into an empty database. Raises :class:`DatabaseNotEmpty` otherwise."""
    if not await database_is_empty():
        raise DatabaseNotEmpty("the database already holds an office; use --reset to replace it")
    rng = random.Random(options.seed)
    faker = Faker("fr_FR")
    faker.seed_instance(options.seed)
    now = (options.now or now_utc()).astimezone(UTC)
    report = DemoReport()

    communes = await _write_communes(report)
    await _write_people_and_sectors(communes)
    weights = _commune_weights(rng, communes)

    ids = _Ids()
    this_month = billing.first_of_month(now.astimezone(OFFICE_TIMEZONE).date())
    window = [billing.add_months(this_month, -i) for i in reversed(range(WINDOW_MONTHS))]
    built = 0
    while built < options.dwellings:
        size = min(CHUNK_DWELLINGS, options.dwellings - built)
        rows = _Rows()
        _draw_dwellings(rng, faker, ids, rows, report, communes, weights, size, window, now)
        async with in_transaction():
            for batch in rows.batches():
                if batch:
                    await type(batch[0]).bulk_create(batch, batch_size=1000)
        built += size
        if progress is not None:
            progress(built, options.dwellings)
    await reset_id_sequences()
    await analyze()
    return report


async def _write_communes(report: DemoReport) -> list[places.Commune]:
    with COMMUNES_FILE.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    communes = [
        places.Commune(id=i, name=r["name"], postal_code=r["postal_code"])
        for i, r in enumerate(rows, 1)
    ]
    await places.Commune.bulk_create(communes)
    report.communes = len(communes)
    return await places.Commune.all().order_by("id")


async def _write_people_and_sectors(communes: list[places.Commune]) -> None:
    by_sector: dict[str, list[places.Commune]] = {sector: [] for _, _, sector, _, _ in COLLECTORS}
    for commune in communes:
        if commune.name == "Montauban":
            by_sector["Montauban"].append(commune)
        elif commune.name in GARONNE_AND_LOMAGNE:
            by_sector["Garonne et Lomagne"].append(commune)
        else:
            by_sector["Quercy et vallée du Tarn"].append(commune)
    for username, full_name, sector_name, pin, device_secret in COLLECTORS:
        await users.create_user(username, full_name, people.Role.COLLECTOR, pin=pin)
        await users.enrol_device(username, "téléphone de démonstration", secret=device_secret)
        await users.set_sector(sector_name, username, [c.name for c in by_sector[sector_name]])
    for username, full_name, role, password in OFFICE_USERS:
        await users.create_user(username, full_name, role, password=password)
    await oauth_clients.create_client(
        "Trésorerie (démo)",
        scopes=[CONFIRMATIONS_WRITE],
        client_id=TREASURY_CLIENT_ID,
        secret=TREASURY_CLIENT_SECRET,
    )


def _commune_weights(rng: random.Random, communes: list[places.Commune]) -> list[float]:
    return [MAIN_TOWNS.get(c.name, round(rng.uniform(0.3, 1.8), 2)) for c in communes]


def _draw_person(rng: random.Random, faker: Faker) -> tuple[str, str, str]:
    female = rng.random() < 0.55
    if rng.random() < 0.08:
        first = rng.choice(SPECIAL_FEMALE_NAMES if female else SPECIAL_MALE_NAMES)
    else:
        first = faker.first_name_female() if female else faker.first_name_male()
    surname = rng.choice(SPECIAL_SURNAMES) if rng.random() < 0.06 else faker.last_name()
    return ("Mme" if female else "M."), surname, first


def _draw_dwellings(
    rng: random.Random,
    faker: Faker,
    ids: _Ids,
    rows: _Rows,
    report: DemoReport,
    communes: list[places.Commune],
    weights: list[float],
    count: int,
    window: list[date],
    now: datetime,
) -> None:
    made = 0
    while made < count:
        commune = rng.choices(communes, weights=weights)[0]
        collective = rng.random() < 0.7
        size = min(count - made, rng.randint(8, 60) if collective else rng.randint(3, 12))
        residence_id = ids.take("residence")
        rows.residences.append(
            places.Residence(
                id=residence_id,
                name=f"Résidence {rng.choice(RESIDENCE_NAMES)}",
                commune_id=commune.id,
            )
        )
        street = faker.street_name()
        first_number = rng.randint(1, 80)
        for index in range(size):
            if collective:
                address = f"{first_number}, {street}, bât. {chr(65 + index // 16)}, appt {index % 16 + 1:02d}"
            else:
                address = f"{first_number + 2 * index}, {street}"
            dwelling_type = rng.choices(list(DWELLING_SURFACES_M2), weights=DWELLING_TYPE_WEIGHTS)[
                0
            ]
            low, high = DWELLING_SURFACES_M2[dwelling_type]
            dwelling_id = ids.take("dwelling")
            surface_dm2 = rng.randint(low * 100, high * 100)
            vacant = rng.random() < 0.057
            rows.dwellings.append(
                places.Dwelling(
                    id=dwelling_id,
                    reference=f"LOG{dwelling_id:07d}",
                    residence_id=residence_id,
                    commune_id=commune.id,
                    address=address,
                    dwelling_type=dwelling_type,
                    surface_dm2=surface_dm2,
                    status=places.DwellingStatus.VACANT
                    if vacant
                    else places.DwellingStatus.OCCUPIED,
                )
            )
            report.dwellings += 1
            _draw_occupants(
                rng, faker, ids, rows, report, dwelling_id, surface_dm2, vacant, window, now
            )
        made += size


def _draw_occupants(
    rng: random.Random,
    faker: Faker,
    ids: _Ids,
    rows: _Rows,
    report: DemoReport,
    dwelling_id: int,
    surface_dm2: int,
    vacant: bool,
    window: list[date],
    now: datetime,
) -> None:
    """The dwelling's current lease, if any, and a former tenant's when it changed hands lately."""
    if vacant:
        report.vacant_dwellings += 1
        if rng.random() < 0.5:
            end = billing.add_months(window[-1], -rng.randint(1, 10)) + timedelta(
                days=rng.randint(0, 27)
            )
            start = billing.add_months(end.replace(day=1), -rng.randint(14, 120))
            _draw_lease(
                rng, faker, ids, rows, report, dwelling_id, surface_dm2, start, end, window, now
            )
        return
    if rng.random() < 0.15:
        # Changed hands within the window: the former tenant's ledger ends where the new one starts.
        start = window[rng.randint(2, len(window) - 1)]
        former_end = start - timedelta(days=1)
        former_start = billing.add_months(start, -rng.randint(24, 150))
        _draw_lease(
            rng,
            faker,
            ids,
            rows,
            report,
            dwelling_id,
            surface_dm2,
            former_start,
            former_end,
            window,
            now,
        )
    else:
        start = billing.add_months(window[0], -rng.randint(1, 240))
    _draw_lease(rng, faker, ids, rows, report, dwelling_id, surface_dm2, start, None, window, now)


def _draw_lease(
    rng: random.Random,
    faker: Faker,
    ids: _Ids,
    rows: _Rows,
    report: DemoReport,
    dwelling_id: int,
    surface_dm2: int,
    start: date,
    end: date | None,
    window: list[date],
    now: datetime,
) -> None:
    title, surname, first_name = _draw_person(rng, faker)
    tenant_id = ids.take("tenant")
    rows.tenant_rows.append(
        tenants.Tenant(
            id=tenant_id,
            code=f"{1000000 + tenant_id}",
            title=title,
            surname=surname,
            first_name=first_name,
            phone=_draw_phone(rng) if rng.random() < 0.7 else None,
            search_key=names.search_key(surname, first_name),
            created_at=datetime.combine(start, time(9), UTC),
        )
    )
    rows.words.extend(
        tenants.TenantNameWord(id=ids.take("word"), tenant_id=tenant_id, word=w)
        for w in sorted(names.name_words(surname, first_name))
    )
    # Social rents: about 5–7 € per m² a month, service charges about 1–1.6 €.
    rent = round(surface_dm2 * rng.uniform(5.0, 7.0)) // 100 * 100 + rng.randint(0, 99)
    service_charges = round(surface_dm2 * rng.uniform(1.0, 1.6))
    benefit = 0
    if rng.random() < 0.55:
        benefit = round((rent + service_charges) * rng.uniform(0.25, 0.75))
    lease_id = ids.take("lease")
    lease = tenants.Lease(
        id=lease_id,
        dwelling_id=dwelling_id,
        tenant_id=tenant_id,
        start_date=start,
        end_date=end,
        rent_cents=rent,
        service_charges_cents=service_charges,
        housing_benefit_cents=benefit,
    )
    rows.leases.append(lease)
    report.tenants += 1
    report.leases += 1
    report.running_leases += end is None

    periods = [
        p for p in window if p >= billing.first_of_month(start) and (end is None or p <= end)
    ]
    profile = draw_profile(rng)
    drawn_charges, drawn_payments = draw_ledger(
        rng, profile, billing.tenant_share_cents(lease), periods, now
    )
    charge_lines = []
    for drawn_charge in drawn_charges:
        charge_id = ids.take("charge")
        rows.charges.append(
            ledger.Charge(
                id=charge_id,
                lease_id=lease_id,
                period=drawn_charge.period,
                amount_cents=drawn_charge.amount_cents,
                due_date=drawn_charge.due_date,
                created_at=datetime.combine(drawn_charge.period, time(6), UTC),
            )
        )
        charge_lines.append(
            accounts.ChargeLine(charge_id, drawn_charge.due_date, drawn_charge.amount_cents)
        )
    payment_lines = [_write_payment(ids, rows, report, lease_id, p) for p in drawn_payments]
    report.charges += len(charge_lines)

    summary = accounts.summarize_ledger(charge_lines, payment_lines)
    rows.snapshots.append(
        ledger.AccountSnapshot(lease_id=lease_id, **accounts.snapshot_fields(summary))
    )
    today = now.astimezone(OFFICE_TIMEZONE).date()
    if accounts.account_status(summary, lease, today).arrears_cents > 0:
        report.leases_in_arrears += 1


def _write_payment(
    ids: _Ids, rows: _Rows, report: DemoReport, lease_id: int, drawn: DemoPayment
) -> accounts.PaymentLine:
    payment_id = ids.take("payment")
    rows.payments.append(
        ledger.Payment(
            id=payment_id,
            lease_id=lease_id,
            amount_cents=drawn.amount_cents,
            method=drawn.method,
            status=drawn.status,
            source=drawn.source,
            paid_on=drawn.paid_on,
            recorded_at=drawn.recorded_at,
            rejected_at=drawn.rejected_at,
            rejection_reason=drawn.rejection_reason,
        )
    )
    report.payments += 1
    report.declared_payments += drawn.status == ledger.PaymentStatus.DECLARED
    report.rejected_payments += drawn.status == ledger.PaymentStatus.REJECTED
    if drawn.confirmed_at is not None:
        rows.confirmations.append(
            treasury.Confirmation(
                id=ids.take("confirmation"),
                payment_id=payment_id,
                channel=treasury.ConfirmationChannel.DEMO,
                source=drawn.confirmation_source or "",
                booked_on=drawn.confirmed_at.astimezone(OFFICE_TIMEZONE).date() - timedelta(days=1),
                applied_at=drawn.confirmed_at,
                bank_reference=f"DEMO{payment_id:010d}",
            )
        )
    return accounts.PaymentLine(
        payment_id,
        drawn.amount_cents,
        drawn.status,
        drawn.paid_on,
        drawn.confirmed_at,
        drawn.rejected_at,
    )


def _draw_phone(rng: random.Random) -> str:
    return f"0{rng.choice('67')} " + " ".join(f"{rng.randint(0, 99):02d}" for _ in range(4))


def as_dict(report: DemoReport) -> dict[str, Any]:
    return dict(report.__dict__)
