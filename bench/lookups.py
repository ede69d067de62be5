"""Server-side latency of the two collector lookups, through the ASGI app in process.

    DATABASE_URL=sqlite://data/bench.sqlite3 .venv/bin/regie demo --dwellings 125000 --reset
    DATABASE_URL=sqlite://data/bench.sqlite3 .venv/bin/python bench/lookups.py

Measures ``searchTenants`` (20 results with account, dwelling, commune and last payment) and
``tenant(code)`` with its account, each request timed inside the server from the ASGI call to the
last byte of the response — session check, GraphQL, database, audit — through the app's own
middleware and lifespan (no network, and not the HTTP client's own work). Search texts are drawn from the database itself: surname prefixes of 3 to 6
letters, whole surnames, first names, "surname first-name" pairs and code prefixes. Prints
median, p95 and p99 in milliseconds. Machines here are noisy (±30 %): compare runs made together.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from regie.app import create_app
from regie.auth.principal import SESSION_COOKIE
from regie.db import people, tenants
from regie.services import names, sessions, throttle
from regie.settings import load_settings

SEARCH = """
query Search($text: String!) {
  searchTenants(text: $text, first: 20) {
    edges { node { code surname firstName
      dwelling { address commune { name } }
      account { confirmedBalanceCents expectedBalanceCents arrearsCents arrearsMonths bucket asOf
        lastPayment { amountCents status paidOn confirmation { bookedOn } } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
TENANT = """
query Tenant($code: String!) {
  tenant(code: $code) { code surname firstName
    dwelling { address commune { name } }
    account { confirmedBalanceCents expectedBalanceCents arrearsCents arrearsDays arrearsMonths bucket
      tenantShareCents nextDueDate asOf lastPayment { amountCents status paidOn } } }
}
"""


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def sample_inputs(rng: random.Random, count: int) -> tuple[list[str], list[str]]:
    total = await tenants.Tenant.all().count()
    if total == 0:
        raise SystemExit("The database holds no tenants: load the demo office first (regie demo).")
    ids = rng.sample(range(1, total + 1), min(count, total))
    rows = await tenants.Tenant.filter(id__in=ids).values_list("code", "surname", "first_name")
    codes = [code for code, _, _ in rows]
    texts: list[str] = []
    for code, surname, first_name in rows:
        surname_words = sorted(names.words(surname), key=len, reverse=True) or ["xx"]
        kind = rng.randrange(5)
        if kind == 0:
            texts.append(surname_words[0][: rng.randint(3, 6)])
        elif kind == 1:
            texts.append(surname)
        elif kind == 2:
            texts.append(first_name)
        elif kind == 3:
            texts.append(f"{surname} {first_name[:3]}")
        else:
            texts.append(code[:5])
    return codes, texts


class ServerClock:
    """Times each request inside the server: from the ASGI call to the last byte of the response.

    The HTTP client's own work (building the request, parsing the JSON answer) is left out, as a
    real network client's would be.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.timings: list[float] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.timings.append((time.perf_counter() - started) * 1000)


async def measure(
    client: httpx.AsyncClient, clock: ServerClock, query: str, variables: list[dict[str, Any]]
) -> list[float]:
    clock.timings.clear()
    for values in variables:
        response = await client.post("/graphql", json={"query": query, "variables": values})
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise SystemExit(f"query failed for {values}: {body}")
    return list(clock.timings)


def report(label: str, timings: list[float]) -> None:
    print(
        f"| {label:<40} | {len(timings):>5} | {statistics.median(timings):7.2f} | "
        f"{percentile(timings, 0.95):7.2f} | {percentile(timings, 0.99):7.2f} |"
    )


async def main() -> None:
    # One session replays thousands of lookups: the scraping guard would stop it.
    throttle.limiter.enabled = False
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per lookup kind")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    settings = load_settings()
    app = create_app(settings)
    rng = random.Random(args.seed)
    # The app's own lifespan: the database, and the audit writer, as `regie serve` runs them.
    async with app.router.lifespan_context(app):
        codes, texts = await sample_inputs(rng, args.requests)
        tenant_count = await tenants.Tenant.all().count()
        # Office staff see every tenant: the widest search. Their session cookie is what a browser sends.
        office_user = await people.User.filter(role=people.Role.OFFICE).first()
        if office_user is None:
            raise SystemExit("No office user: load the demo office (regie demo).")
        session = await sessions.open_session(office_user.id, None, "html")
        clock = ServerClock(app)
        transport = httpx.ASGITransport(app=clock)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", cookies={SESSION_COOKIE: session.token}
        ) as client:
            # Warm caches (parser, validation, database pages) before measuring.
            await measure(client, clock, SEARCH, [{"text": t} for t in texts[:50]])
            await measure(client, clock, TENANT, [{"code": c} for c in codes[:50]])
            search = await measure(client, clock, SEARCH, [{"text": t} for t in texts])
            lookup = await measure(client, clock, TENANT, [{"code": c} for c in codes])
    backend = settings.database_url.split(":", 1)[0]
    print(
        f"\n{backend}, {tenant_count:,} tenants, {os.cpu_count()} CPUs, server side, timed inside the ASGI app\n"
    )
    print("| lookup                                   |     n | median  |   p95   |   p99   |")
    print("|------------------------------------------|------:|--------:|--------:|--------:|")
    report("searchTenants, 20 with account (ms)", search)
    report("tenant(code) with account (ms)", lookup)


if __name__ == "__main__":
    asyncio.run(main())
