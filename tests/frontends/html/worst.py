"""The heaviest pages the demo office can produce, to hold each page kind to its weight budget.

The demo draws names, streets, communes and payment fates from fixed vocabularies (its special
names, Faker's French lists, ``communes.csv``, the rejection reasons). A household built from the
longest item of each — the longest surname with the longest first name, at the longest address of
the longest commune, paying by the method with the longest label, every payment rejected with the
longest reason, large amounts — weighs at least as much as any household the demo can draw. Lengths
are counted as served: UTF-8 bytes after HTML escaping.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from faker.providers.address.fr_FR import Provider as AddressProvider
from faker.providers.person.fr_FR import Provider as PersonProvider
from markupsafe import escape
from starlette.applications import Starlette

from regie.db import ledger, places, tenants, treasury
from regie.demo import ledger as demo_ledger
from regie.demo import office as demo
from regie.services import billing, names
from regie.services import ledger as ledger_service
from regie.services.clock import office_today

BUDGET_BYTES = 3000
"""3 kB of markup per collector page (../shared/phones.md), counted in decimal kilobytes."""


def served_length(text: str) -> int:
    return len(str(escape(text)).encode())


def longest(items: object) -> str:
    return max((str(item) for item in items), key=served_length)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Vocabulary:
    surname: str
    first_name: str
    address: str
    commune: str
    postal_code: str
    rejection_reason: str


def vocabulary() -> Vocabulary:
    first_names = [
        *PersonProvider.first_names_male,
        *PersonProvider.first_names_female,
        *demo.SPECIAL_MALE_NAMES,
        *demo.SPECIAL_FEMALE_NAMES,
    ]
    surnames = [*PersonProvider.last_names, *demo.SPECIAL_SURNAMES]
    faker_first = longest([*PersonProvider.first_names_male, *PersonProvider.first_names_female])
    streets = [
        f"{prefix} {faker_first} {longest(PersonProvider.last_names)}"
        for prefix in AddressProvider.street_prefixes
    ]
    # The demo's longest address form: a block of flats (bât. D, appt 16) at number 80.
    address = f"80, {longest(streets)}, bât. D, appt 16"
    with demo.COMMUNES_FILE.open(encoding="utf-8") as file:
        communes = list(csv.DictReader(file))
    commune = max(communes, key=lambda row: served_length(row["name"]))
    return Vocabulary(
        surname=longest(surnames),
        first_name=longest(first_names),
        address=address,
        commune=commune["name"],
        postal_code=commune["postal_code"],
        rejection_reason=longest(demo_ledger.REJECTION_REASONS.values()),
    )


MONTHLY_CENTS = 123456
"""1 234,56 € a month: amounts with a thousands separator."""


async def heavy_tenant(code: str, words: Vocabulary, *, with_ledger: bool = True) -> tenants.Tenant:
    """A tenant of the longest strings; 24 months unpaid, 24 direct debits rejected."""
    commune = await places.Commune.filter(name=words.commune).first()
    if commune is None:
        commune = await places.Commune.create(name=words.commune, postal_code=words.postal_code)
    dwelling = await places.Dwelling.create(
        reference=f"W{code}",
        commune_id=commune.id,
        address=words.address,
        dwelling_type=places.DwellingType.T6,
        surface_dm2=13000,
    )
    tenant = await tenants.Tenant.create(
        code=code,
        title="Mme",
        surname=words.surname,
        first_name=words.first_name,
        search_key=names.search_key(words.surname, words.first_name),
    )
    await tenants.TenantNameWord.bulk_create(
        [
            tenants.TenantNameWord(tenant_id=tenant.id, word=word)
            for word in names.name_words(words.surname, words.first_name)
        ]
    )
    this_month = billing.first_of_month(office_today())
    lease = await tenants.Lease.create(
        dwelling_id=dwelling.id,
        tenant_id=tenant.id,
        start_date=billing.add_months(this_month, -24),
        rent_cents=MONTHLY_CENTS - 23456,
        service_charges_cents=23456,
        housing_benefit_cents=0,
    )
    if not with_ledger:
        return tenant
    for months_ago in range(24, 0, -1):
        await ledger_service.bill_month(lease.id, billing.add_months(this_month, -months_ago))
    for months_ago in range(24, 0, -1):
        booked = billing.add_months(this_month, -months_ago).replace(day=28)
        payment = await ledger_service.record_confirmed_payment(
            lease.id,
            MONTHLY_CENTS,
            ledger.PaymentMethod.DIRECT_DEBIT,
            booked_on=booked,
            channel=treasury.ConfirmationChannel.FILE,
            source="DGFiP test",
            applied_at=datetime.combine(booked, time(9), UTC),
        )
        await ledger_service.reject_payment(
            payment.id,
            words.rejection_reason,
            rejected_at=datetime.combine(booked + timedelta(days=12), time(9), UTC),
        )
    # The latest confirmation a moment ago: "Situation au … (il y a 1 min)".
    await ledger_service.record_confirmed_payment(
        lease.id,
        100,
        ledger.PaymentMethod.DIRECT_DEBIT,
        booked_on=date(2001, 1, 1),
        channel=treasury.ConfirmationChannel.PUSH,
        source="DGFiP test",
    )
    return tenant


async def heavy_office(words: Vocabulary, results: int) -> list[str]:
    """``results`` heavy homonyms (the first one with its ledger); returns their codes."""
    codes = [f"{9900001 + i}" for i in range(results)]
    for index, code in enumerate(codes):
        await heavy_tenant(code, words, with_ledger=index == 0)
    return codes


def heaviest_query(words: Vocabulary, length: int = 100) -> str:
    """The longest search text (100 characters) in the most bytes that still finds the heavy tenants.

    Searching ignores case and accents (NFKD), so mathematical letters such as ``𝕕𝕖𝕤`` (4 bytes
    each) find "des"; ``’`` (3 bytes) separates words. The results page shows the text again.
    """
    from regie.services import names

    def double_struck(word: str) -> str:
        return "".join(chr(0x1D552 + ord(c) - ord("a")) if "a" <= c <= "z" else c for c in word)

    # The longest word of the heavy name, again and again: only the heavy tenants have it.
    word = double_struck(max(names.words(f"{words.surname} {words.first_name}"), key=len))
    return "’".join([word] * ((length + 1) // (len(word) + 1)))


async def page_weights(
    app: Starlette, token: str, words: Vocabulary, codes: list[str]
) -> dict[str, int]:
    """Bytes of markup of each page kind at its heaviest, ``codes`` from :func:`heavy_office`.

    ``token`` is the session of a user who may read those tenants.
    """
    import re

    import httpx

    from regie.auth.principal import SESSION_COOKIE
    from regie.frontends.html.templates import attribute

    def client(cookies: dict[str, str] | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            cookies=cookies,
            headers={"accept-language": "fr-FR,fr;q=0.9"},
        )

    def csrf(markup: str) -> str:
        match = re.search(r'name="csrf" value="([^"]+)"', markup)
        assert match is not None
        return match.group(1)

    weights: dict[str, int] = {}
    async with client() as anonymous:
        weights["home (anonymous)"] = len((await anonymous.get("/")).content)
        form = await anonymous.get("/connexion?next=/locataires/" + codes[0])
        refused = await anonymous.post(
            "/connexion",
            data={
                "csrf": csrf(form.text), "kind": "office", "username": "nobody", "secret": "x",
                "next": "/locataires/" + codes[0] + "/paiements?page=2",
            },
        )  # fmt: skip
        assert refused.status_code == 401
        weights["sign-in (first time on this phone, refused)"] = len(refused.content)
    async with client({SESSION_COOKIE: token}) as signed_in:
        home = await signed_in.get("/")
        weights["search (signed-in home)"] = len(home.content)
        # The heavy tenants by their codes' prefix (they rank first whoever else the office
        # holds), then the page as if the heaviest text had been searched: it is shown once.
        prefix = codes[0][:-1]
        results = await signed_in.post("/recherche", data={"csrf": csrf(home.text), "q": prefix})
        assert results.status_code == 200 and results.text.count("<li>") == 8, results.text
        assert results.text.count(f'value="{prefix}"') == 1 and "apres" in results.text
        echo = len(str(attribute(heaviest_query(words))).encode()) - len(prefix)
        weights["results (8, with more)"] = len(results.content) + echo
        weights["account"] = len((await signed_in.get(f"/locataires/{codes[0]}")).content)
        payments = await signed_in.get(f"/locataires/{codes[0]}/paiements")
        weights["payments (10 a page)"] = len(payments.content)
        middle = await signed_in.get(f"/locataires/{codes[0]}/paiements?page=2")
        assert middle.status_code == 200 and 'rel="next"' in middle.text
        weights["payments, a middle page"] = len(middle.content)
        missing = await signed_in.get("/locataires/0000000")
        weights["unknown tenant"] = len(missing.content)
    return weights
