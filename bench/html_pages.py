"""Markup weight of each HTML page kind at its heaviest, as a markdown table.

    .venv/bin/python bench/html_pages.py [--dwellings 3500]    # about 10 minutes for 3,500

Builds the demo office (default: the reference office, 3,500 dwellings, a fixed day) in a
temporary SQLite file, then serves every page through the ASGI app in process, as office staff
(who see every tenant), in French:

- "demo office": the heaviest page of its kind over the whole office — every account, the first
  two pages of every tenant's payments, a search for every surname (8 results a page);
- "bound": the page for a household built from the longest item of each of the demo's
  vocabularies (see ``tests/frontends/html/worst.py``), which no drawn household can outweigh.

Weights are bytes of the response body (UTF-8 markup, uncompressed). The budget is 3,000 bytes
(../shared/phones.md). The one stylesheet is listed apart: it is downloaded once, then cached.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from tortoise.contrib.starlette import RegisterTortoise

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' worst-case builder

from regie.app import create_app
from regie.auth.principal import SESSION_COOKIE
from regie.db import people, tenants
from regie.db.config import tortoise_config
from regie.demo.office import DemoOptions, load_demo_office
from regie.frontends.html import static
from regie.services import sessions
from regie.services.throttle import limiter
from regie.settings import load_settings
from tests.frontends.html import worst

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
FRENCH = {"accept-language": "fr-FR,fr;q=0.9"}


async def demo_worst(client: httpx.AsyncClient) -> dict[str, tuple[int, str]]:
    """The heaviest page of each kind over the whole demo office, with what it shows."""
    found: dict[str, tuple[int, str]] = {}

    def keep(kind: str, response: httpx.Response, what: str) -> None:
        if response.status_code != 200:
            raise SystemExit(f"{kind} for {what}: HTTP {response.status_code}")
        if len(response.content) > found.get(kind, (0, ""))[0]:
            found[kind] = (len(response.content), what)

    home = await client.get("/")
    keep("search (signed-in home)", home, "office staff")
    token = home.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    rows = await tenants.Tenant.all().values_list("code", "surname")
    for code, _surname in rows:
        keep("account", await client.get(f"/locataires/{code}"), code)
        payments = await client.get(f"/locataires/{code}/paiements")
        keep("payments (10 a page)", payments, code)
        if 'rel="next"' in payments.text:
            middle = await client.get(f"/locataires/{code}/paiements?page=2")
            if 'rel="next"' in middle.text:
                keep("payments, a middle page", middle, code)
    for surname in sorted({surname for _, surname in rows}):
        limiter.reset()  # searches are rate-limited per user; this one user makes thousands
        results = await client.post("/recherche", data={"csrf": token, "q": surname})
        if results.status_code != 303:  # a single match redirects to its account
            keep("results (8, with more)", results, f"« {surname} »")
    return found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dwellings", type=int, default=3500)
    args = parser.parse_args()
    # The one refused sign-in of the measure is logged by the GraphQL layer; it is expected.
    logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL)

    with tempfile.TemporaryDirectory(prefix="regie-bench-") as folder:
        url = f"sqlite://{folder}/bench.sqlite3"
        settings = load_settings({"REGIE_ENV": "development", "DATABASE_URL": url})
        app = create_app(settings)
        async with RegisterTortoise(app, config=tortoise_config(url), generate_schemas=True):
            started = time.monotonic()
            await load_demo_office(DemoOptions(dwellings=args.dwellings, now=NOW))
            count = await tenants.Tenant.all().count()
            print(
                f"demo office: {count:,} tenants in {time.monotonic() - started:.0f} s",
                file=sys.stderr,
            )
            staff = await people.User.get(role=people.Role.OFFICE)
            session = await sessions.open_session(staff.id, None, "html")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://bench",
                cookies={SESSION_COOKIE: session.token},
                headers=FRENCH,
            ) as client:
                started = time.monotonic()
                demo = await demo_worst(client)
                print(f"every page served in {time.monotonic() - started:.0f} s", file=sys.stderr)
                words = worst.vocabulary()
                codes = await worst.heavy_office(words, 9)
                limiter.reset()
                bound = await worst.page_weights(app, session.token, words, codes)
                css = await client.get(static.STYLESHEET_URL)

    print(f"\n{count:,} tenants (demo office, {args.dwellings:,} dwellings), bytes of markup\n")
    print("| page | demo office, heaviest | bound | budget |")
    print("|---|---:|---:|---:|")
    for kind, size in bound.items():
        seen, what = demo.get(kind, (0, ""))
        shown = f"{seen:,} ({what})" if seen else "–"
        flag = "" if max(size, seen) <= worst.BUDGET_BYTES else " **over**"
        print(f"| {kind} | {shown} | {size:,} | {worst.BUDGET_BYTES:,}{flag} |")
    print(f"| stylesheet (once, then cached a year) | {len(css.content):,} | – | – |")


if __name__ == "__main__":
    asyncio.run(main())
