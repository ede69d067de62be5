"""The collector's path in a real browser: headless Chromium at 240×320 (a KaiOS-class phone),
176×220, and a touch smartphone, against the app served by uvicorn on its own SQLite file.

Screenshots of each step go to ``$REGIE_SCREENSHOTS`` when set (else a temporary folder).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from regie.demo.office import COLLECTORS
from tests.conftest import missing
from tests.frontends.html import office
from tests.frontends.html.browser import ALT, Browser, Tab, executable

ROOT = Path(__file__).resolve().parents[3]
DEMO_DWELLINGS = 150
_, _, _, PIN, DEVICE = next(c for c in COLLECTORS if c[0] == "jldelmas")


@dataclass(frozen=True)
class Served:
    url: str
    household: office.Household
    screenshots: Path
    log: Path
    """The server's output: uvicorn's access log."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """The app under uvicorn, on a demo office of its own plus the Delaunay-Ribère household."""
    with tempfile.TemporaryDirectory(prefix="regie-browser-") as folder:
        database = f"sqlite://{folder}/regie.sqlite3"
        built = subprocess.run(  # noqa: S603 - this interpreter, a module of this repository
            [sys.executable, "-m", "tests.frontends.html.office", database, str(DEMO_DWELLINGS)],
            cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
        )  # fmt: skip
        household = office.Household(**json.loads(built.stdout.strip().splitlines()[-1]))
        port = _free_port()
        environment = {**os.environ, "DATABASE_URL": database, "REGIE_ENV": "development"}
        log = Path(folder) / "server.log"
        with log.open("w") as output:
            server = subprocess.Popen(  # noqa: S603
                [sys.executable, "-c", "from regie.cli import main; raise SystemExit(main())",
                 "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                url = f"http://127.0.0.1:{port}"
                _wait_until_up(url, server, log)
                shots = Path(os.environ.get("REGIE_SCREENSHOTS") or Path(folder) / "shots")
                shots.mkdir(parents=True, exist_ok=True)
                yield Served(url, household, shots, log)
            finally:
                server.terminate()
                server.wait(timeout=20)


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped:\n{log.read_text()}")
        try:
            if httpx.get(url + "/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer:\n{log.read_text()}")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    binary = executable()
    if binary is None:
        missing("Chromium is not installed (apt-get install chromium)")
    assert binary is not None
    browser = Browser(binary)
    try:
        yield browser
    finally:
        browser.close()


def fits(tab: Tab) -> None:
    """Nothing wider than the screen: no sideways scrolling."""
    width = tab.js("document.documentElement.scrollWidth")
    assert width <= tab.width, f"{tab.url} is {width}px wide on a {tab.width}px screen"


def on_first_screen(tab: Tab, selector: str) -> None:
    box = tab.box(selector)
    assert box["y"] >= 0 and box["bottom"] <= tab.height, f"{selector} below the fold: {box}"
    assert box["right"] <= tab.width, f"{selector} cut on the right: {box}"


def sign_in(tab: Tab, served: Served, *, device: bool = True) -> None:
    tab.open(served.url + "/connexion")
    tab.type("#c-user", "jldelmas")
    if device:
        tab.type("#c-device", DEVICE)
    tab.type("#c-pin", PIN)
    tab.tap("#c-pin ~ button")


def test_a_collector_walks_the_path_on_a_240x320_phone(chromium: Browser, served: Served) -> None:
    tab = chromium.tab(240, 320)
    shot = lambda name: tab.screenshot(served.screenshots / f"240x320-{name}.png")  # noqa: E731
    tab.open(served.url + "/")
    assert "Se connecter" in tab.text
    tab.tap("a[href='/connexion']")
    shot("1-sign-in")
    assert "Code du téléphone (20 chiffres)" in tab.text
    fits(tab)
    sign_in(tab, served)

    # Search: the home page once signed in, its field focused.
    assert tab.url == served.url + "/"
    shot("2-search")
    assert tab.focused().startswith("input#q")
    on_first_screen(tab, "#q")
    on_first_screen(tab, "button[type=submit]")
    tab.type("#q", "delaunay")
    tab.tap("button[type=submit]")

    # Results: the two homonyms of the sector, told apart by address and commune.
    assert tab.url == served.url + "/recherche"
    shot("3-results")
    fits(tab)
    items = tab.js("[...document.querySelectorAll('ol li')].map(li => li.innerText)")
    assert len(items) == 2
    assert "DELAUNAY-RIBÈRE Émile" in items[0] and "Moissac" in items[0]
    assert "DELAUNAY-RIBÈRE Émile" in items[1] and "Castelsarrasin" in items[1]
    on_first_screen(tab, "ol li:nth-child(2) a")
    tab.tap("ol li:first-child a")

    # Account: the key figures on the first screen.
    assert tab.url == f"{served.url}/locataires/{served.household.code}"
    shot("4-account")
    fits(tab)
    text = " ".join(tab.text.split())
    for expected in (
        f"Solde confirmé {office.CONFIRMED_BALANCE}",
        f"Solde attendu {office.EXPECTED_BALANCE}",
        f"Impayé {office.CONFIRMED_BALANCE} · {office.ARREARS_MONTHS}",
        f"Part locataire {office.TENANT_SHARE}",
        "À signaler à la CAF",
        "en attente de la trésorerie",
        "confirmé il y a",
    ):
        assert expected in text
    for row in range(1, 5):  # confirmed, expected, arrears, its age
        on_first_screen(tab, f"dl dd:nth-of-type({row})")
    tab.screenshot(served.screenshots / "240x320-4-account-whole.png", full_page=True)

    # Payments, ten a page, then the older ones, then back to the account.
    tab.tap("a[accesskey='#']")
    assert tab.url == f"{served.url}/locataires/{served.household.code}/paiements"
    shot("5-payments")
    fits(tab)
    assert tab.js("document.querySelectorAll('main li').length") == 10
    tab.tap("a[rel=next]")
    assert tab.url.endswith("/paiements?page=2")
    assert tab.js("document.querySelectorAll('main li').length") == office.PAYMENTS - 10
    shot("6-payments-2")
    tab.tap("a[accesskey='*']")
    assert tab.url == f"{served.url}/locataires/{served.household.code}"

    # The server's access log saw the search, never the name searched for.
    log = served.log.read_text()
    assert re.search(r'"POST /recherche[^"]*" 200', log), log
    assert "delaunay" not in log.lower()


def test_the_keypad_alone_does_the_path(chromium: Browser, served: Served) -> None:
    tab = chromium.tab(240, 320)
    sign_in(tab, served)
    # The phone remembers its device code: next time, username and PIN only.
    tab.open(served.url + "/connexion?next=/")
    assert tab.url == served.url + "/"  # still signed in
    tab.type("#q", "delaunay")
    tab.press("Enter", navigates=True)
    assert tab.url == served.url + "/recherche"
    tab.press("2", modifiers=ALT, navigates=True)  # the second result
    assert tab.url == f"{served.url}/locataires/{served.household.homonym_code}"
    tab.press("0", modifiers=ALT, navigates=True)  # new search
    assert tab.url == served.url + "/"
    tab.type("#q", "delaunay")
    tab.press("Enter", navigates=True)
    tab.press("1", modifiers=ALT, navigates=True)
    assert tab.url == f"{served.url}/locataires/{served.household.code}"
    # Focus moves through the actions in reading order, and shows.
    tab.press("Tab")
    assert tab.focused() == "a:Tous les paiements"
    outline = tab.js(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth), s.backgroundColor]; })()"
    )
    assert outline[0] != "none" and outline[1] >= 2 and outline[2] == "rgb(255, 255, 0)"
    tab.press("Tab")
    assert tab.focused() == "a:Nouvelle recherche"
    tab.press("Enter", navigates=True)
    assert tab.url == served.url + "/"


def test_a_remembered_phone_asks_only_username_and_pin(chromium: Browser, served: Served) -> None:
    tab = chromium.tab(240, 320)
    sign_in(tab, served)
    tab.tap("nav button")  # sign out
    assert tab.url == served.url + "/connexion"
    tab.screenshot(served.screenshots / "240x320-7-sign-in-remembered.png")
    assert tab.js("document.querySelector('#c-device')") is None
    on_first_screen(tab, "#c-pin ~ button")
    sign_in(tab, served, device=False)
    assert tab.url == served.url + "/"


@pytest.mark.parametrize(("width", "height"), [(176, 220), (1280, 800)])
def test_the_pages_fit_small_and_large_screens(
    chromium: Browser, served: Served, width: int, height: int
) -> None:
    tab = chromium.tab(width, height)
    sign_in(tab, served)
    code = served.household.code
    for path in ("/", f"/locataires/{code}", f"/locataires/{code}/paiements", "/connexion"):
        tab.open(served.url + path)
        fits(tab)
        tab.screenshot(
            served.screenshots
            / f"{width}x{height}-{path.strip('/').replace('/', '-') or 'home'}.png"
        )
    tab.open(f"{served.url}/locataires/{code}")
    on_first_screen(tab, "dl dd:nth-of-type(1)")


def test_touch_targets_are_big_on_a_smartphone(chromium: Browser, served: Served) -> None:
    tab = chromium.tab(360, 640, touch=True)
    tab.send("Emulation.setEmulatedMedia", {"features": [{"name": "pointer", "value": "coarse"}]})
    sign_in(tab, served)
    tab.open(f"{served.url}/locataires/{served.household.code}")
    tab.screenshot(served.screenshots / "360x640-account.png")
    for selector in ("nav a[accesskey='#']", "nav a[accesskey='0']"):
        assert tab.box(selector)["height"] >= 44, selector
    tab.open(served.url + "/")
    assert tab.box("button[type=submit]")["height"] >= 44
    assert tab.box("#q")["height"] >= 44
