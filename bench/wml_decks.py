"""Worst-case compiled (WBXML) size of each kind of WML deck, on the demo office.

    .venv/bin/python bench/wml_decks.py [--dwellings 3500] [--seed 20261126]

In a temporary folder: loads the demo office into an SQLite file, signs each demo collector in
through ``POST /wml/connexion`` (the ASGI app in process), then requests, as a phone accepting
UTF-8 (the larger encoding):

- results decks for every distinct surname, first name and 3-letter surname prefix of the
  collector's sector, following every "suite" link;
- the account card of every tenant of the sector, and the first payments deck after it;
- the sign-in and search decks, and every message card (with a 100-character search text).

Each deck is compiled with libwbxml's ``xml2wbxml`` (Debian ``libwbxml2-utils``), as a gateway
does. The largest deck of each kind is then requested again as an ISO-8859-1 phone, and compiled
by Kannel's own compiler when ``/usr/lib/kannel/test/wml_tester`` exists (``kannel-extras``).
Prints a markdown table; the limit is a Nokia 7110's 1,397 bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from tortoise.context import TortoiseContext

from regie.app import create_app
from regie.db import people, places, tenants
from regie.db.config import tortoise_config
from regie.demo import office
from regie.frontends.wml.wbxml import DECK_LIMIT, size_bound
from regie.services import names, throttle
from regie.settings import load_settings

KANNEL = Path("/usr/lib/kannel/test/wml_tester")
XML2WBXML = shutil.which("xml2wbxml") or "/usr/bin/xml2wbxml"
UTF8 = {"Accept-Charset": "utf-8"}
LATIN1 = {"Accept-Charset": "iso-8859-1"}
TOKEN = re.compile(rb"[?&]s=([A-Za-z0-9_-]{43})")
SUITE = re.compile(rb'<postfield name="q" value="([^"]*)"/><postfield name="a" value="([^"]+)"/>')
CARDS = {b"c": "sign-in", b"q": "search", b"r": "results", b"a": "account", b"p": "payments"}
MESSAGES = (
    (b"Plus de", "message: too many"),
    (b"Aucun locataire", "message: no result"),
    (b"Locataire introuvable", "message: not found"),
)
OLDER = re.compile(rb'<postfield name="c" value="([^"]*)"/><postfield name="a" value="([^"]+)"/>')


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    data: dict[str, str] = field(default_factory=dict)
    label: str = ""


@dataclass
class Worst:
    kind: str
    count: int = 0
    size: int = -1
    bound: int = 0
    request: Request | None = None
    deck: bytes = b""


@dataclass
class Candidates:
    """Every deck of one kind, compiled largest bound first until none can beat the largest size."""

    kind: str
    decks: list[tuple[int, Request, bytes]] = field(default_factory=list)

    def worst(self) -> Worst:
        worst = Worst(self.kind, count=len(self.decks))
        for bound, request, deck in sorted(self.decks, key=lambda d: d[0], reverse=True):
            if bound <= worst.size:
                break  # the bound is never below the compiled size (tests/frontends/wml)
            size = compile_size(deck)
            if size > worst.size:
                worst.size, worst.bound, worst.request, worst.deck = size, bound, request, deck
        return worst


def compile_size(deck: bytes) -> int:
    with tempfile.TemporaryDirectory(prefix="regie-wml-") as folder:
        source, target = Path(folder, "deck.wml"), Path(folder, "deck.wbxml")
        source.write_bytes(deck)
        subprocess.run(  # noqa: S603 (our own program and paths)
            [XML2WBXML, "-o", str(target), str(source)], check=True, capture_output=True
        )
        return target.stat().st_size


def kannel_size(deck: bytes) -> int | None:
    if not KANNEL.exists():
        return None
    with tempfile.TemporaryDirectory(prefix="regie-wml-") as folder:
        source, target = Path(folder, "deck.wml"), Path(folder, "deck.wmlc")
        source.write_bytes(deck)
        subprocess.run(  # noqa: S603 (our own program and paths)
            [str(KANNEL), "-b", "-f", str(target), str(source)], check=True, capture_output=True
        )
        return target.stat().st_size


class Bench:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.candidates: dict[str, Candidates] = {}
        self.cut_short = 0

    async def fetch(self, request: Request, headers: dict[str, str] = UTF8) -> bytes:
        response = await self.client.request(
            request.method, request.path, data=request.data or None, headers=headers
        )
        if response.status_code != 200 or not response.headers["content-type"].startswith(
            "text/vnd.wap.wml"
        ):
            raise SystemExit(f"{request}: {response.status_code} {response.text[:200]}")
        return response.content

    def measure(self, request: Request, deck: bytes, kind: str | None = None) -> None:
        """Files the deck under ``kind``, or under the kind of card it holds."""
        card = re.search(rb'<card id="(\w)" title="([^"]*)"', deck)
        if card is None:
            raise SystemExit(f"{request}: not a deck of ours: {deck[:300]!r}")
        if card.group(1) != b"m":
            kind = CARDS[card.group(1)]
        elif kind is None:
            kind = next((k for text, k in MESSAGES if text in deck), "message: other")
        self.candidates.setdefault(kind, Candidates(kind)).decks.append(
            (size_bound(deck), request, deck)
        )

    async def results(self, token: str, texts: Iterable[str]) -> None:
        for text in texts:
            request = Request("POST", f"/wml/recherche?s={token}", {"q": text}, f"« {text} »")
            while True:
                deck = await self.fetch(request)
                self.measure(request, deck)
                suite = SUITE.search(deck)
                if suite is None:
                    break
                if deck.count(b"<option>") < 9:
                    self.cut_short += 1
                after = suite.group(2).decode()
                request = Request(
                    "POST", request.path, {"q": text, "a": after}, f"« {text} » after {after}"
                )

    async def accounts(self, token: str, codes: Iterable[str]) -> None:
        for code in codes:
            request = Request("POST", f"/wml/compte?s={token}", {"c": code}, f"tenant {code}")
            deck = await self.fetch(request)
            self.measure(request, deck)
            older = OLDER.search(deck)
            if older is not None:
                data = {"c": code, "a": older.group(2).decode()}
                request = Request("POST", f"/wml/paiements?s={token}", data, f"tenant {code}")
                self.measure(request, await self.fetch(request))


async def sector_inputs(username: str) -> tuple[list[str], list[str], str]:
    """The search texts and tenant codes of a collector's sector, and its commonest 2-letter prefix."""
    user = await people.User.get(username=username)
    commune_ids = [
        c.id
        for sector in await people.Sector.filter(collector_id=user.id).prefetch_related("communes")
        for c in sector.communes
    ]
    dwelling_ids = await places.Dwelling.filter(commune_id__in=commune_ids).values_list(
        "id", flat=True
    )
    tenant_ids = await tenants.Lease.filter(dwelling_id__in=list(dwelling_ids)).values_list(
        "tenant_id", flat=True
    )
    rows = await tenants.Tenant.filter(id__in=list(tenant_ids)).values_list(
        "code", "surname", "first_name"
    )
    texts: set[str] = set()
    prefixes: Counter[str] = Counter()
    for _, surname, first_name in rows:
        texts.add(surname)
        texts.add(first_name)
        words = names.words(surname)
        if words and len(words[0]) >= 3:
            texts.add(words[0][:3])
        prefixes.update({w[:2] for w in names.words(f"{surname} {first_name}") if len(w) >= 2})
    common = prefixes.most_common(1)[0][0] if prefixes else "ma"
    return sorted(texts), sorted(code for code, _, _ in rows), common


async def run(dwellings: int, seed: int, now: datetime) -> None:
    with tempfile.TemporaryDirectory(prefix="regie-bench-") as folder:
        url = f"sqlite://{folder}/demo.sqlite3"
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(url))
            await context.generate_schemas()
            started = time.perf_counter()
            report = await office.load_demo_office(
                office.DemoOptions(dwellings=dwellings, seed=seed, now=now)
            )
            print(
                f"demo office: {report.tenants:,} tenants in {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
            app = create_app(load_settings({"REGIE_ENV": "development", "DATABASE_URL": url}))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                bench = Bench(client)
                await measure_all(bench)
                rows = await table_rows(bench)
    print_table(rows, bench.cut_short)


async def measure_all(bench: Bench) -> None:
    sign_in = Request("GET", "/wml/", label="sign-in card")
    bench.measure(sign_in, await bench.fetch(sign_in))
    for username, _, _, pin, device_secret in office.COLLECTORS:
        request = Request(
            "POST", "/wml/connexion", {"u": username, "d": device_secret, "p": pin}, username
        )
        deck = await bench.fetch(request)
        bench.measure(request, deck)
        found = TOKEN.search(deck)
        if found is None:
            raise SystemExit(f"{username} could not sign in: {deck[:300]!r}")
        token = found.group(1).decode()
        texts, codes, common = await sector_inputs(username)
        print(f"{username}: {len(texts)} search texts, {len(codes)} tenants", file=sys.stderr)
        await bench.results(token, texts)
        await bench.accounts(token, codes)
        search = f"/wml/recherche?s={token}"
        messages = [
            ("message: no result", Request("POST", search, {"q": "x" * 100}, "100 × x")),
            ("message: too many", Request("POST", search, {"q": common}, f"« {common} »")),
            ("message: search text", Request("POST", search, {"q": "x"}, "« x »")),
            ("message: not found", Request("POST", f"/wml/compte?s={token}", {"c": "X" * 12})),
            ("message: unknown page", Request("GET", f"/wml/{'x' * 40}?s={token}")),
        ]
        for kind, message in messages:
            bench.measure(message, await bench.fetch(message), kind)
    refused = Request("POST", "/wml/connexion", {"u": "x" * 40, "d": "1" * 20, "p": "1" * 12})
    bench.measure(refused, await bench.fetch(refused), "message: sign-in refused")
    expired = Request("GET", f"/wml/?s={'x' * 43}", label="unknown token")
    bench.measure(expired, await bench.fetch(expired), "message: session expired")


@dataclass(frozen=True)
class Row:
    worst: Worst
    latin1: int
    kannel: int | None


async def table_rows(bench: Bench) -> list[Row]:
    """The largest deck of each kind, also as an ISO-8859-1 phone gets it and as Kannel compiles it."""
    rows = []
    for candidates in sorted(bench.candidates.values(), key=lambda c: c.kind):
        worst = candidates.worst()
        if worst.request is None:
            continue
        latin1 = compile_size(await bench.fetch(worst.request, LATIN1))
        rows.append(Row(worst, latin1, kannel_size(worst.deck)))
    return rows


def print_table(rows: list[Row], cut_short: int) -> None:
    print(f"\nDecks compiled with xml2wbxml (libwbxml); limit {DECK_LIMIT:,} bytes (Nokia 7110).\n")
    print(
        "| deck | decks | worst, UTF-8 | same, ISO-8859-1 | same, Kannel | size bound | headroom |"
        " worst case |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        worst = row.worst
        label = worst.request.label if worst.request else ""
        kannel = "–" if row.kannel is None else f"{row.kannel:,}"
        print(
            f"| {worst.kind} | {worst.count:,} | {worst.size:,} | {row.latin1:,} | {kannel} "
            f"| {worst.bound:,} | {DECK_LIMIT - worst.size:,} | {label} |"
        )
    print(f"\nResults decks holding fewer than 9 options because of the size limit: {cut_short}")


def main() -> None:
    # One session replays thousands of lookups: the scraping guard would stop it.
    throttle.limiter.enabled = False
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dwellings", type=int, default=3500)
    parser.add_argument("--seed", type=int, default=office.DemoOptions.seed)
    parser.add_argument(
        "--now", default="2026-11-26T12:00:00+00:00", help="the demo office's clock (ISO, UTC)"
    )
    args = parser.parse_args()
    if not Path(XML2WBXML).exists():
        raise SystemExit("xml2wbxml is missing: apt-get install libwbxml2-utils")
    now = datetime.fromisoformat(args.now).astimezone(UTC)
    asyncio.run(run(args.dwellings, args.seed, now))


if __name__ == "__main__":
    main()
