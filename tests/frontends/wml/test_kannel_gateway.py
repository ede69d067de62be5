"""The whole path through a real WAP gateway: Kannel's bearerbox and wapbox in front of Régie, and
Kannel's WSP test client ``fakewap`` in the place of the phone.

The phone speaks WSP over WTP (UDP) to the gateway, which fetches the deck over HTTP, compiles it
to WBXML and sends it back; ``wbxml2xml`` turns the reply into WML again for the assertions.
WAP's UDP ports (9200, 9201) are fixed, so the gateway listens on a random loopback address; the
phone uses connectionless WSP (port 9200), as many WAP 1.x phones do.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET, missing
from tests.frontends.wml.conftest import tenant_with_payments
from tests.frontends.wml.phone import decompiled

BEARERBOX = Path("/usr/sbin/bearerbox")
WAPBOX = Path("/usr/sbin/wapbox")
FAKEWAP = Path("/usr/lib/kannel/test/fakewap")
ADMIN_PASSWORD = "regie-test"
WSP_PORT = 9200  # connectionless WSP (over WTP, each POST waits ~7 s on Kannel's timers)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class GatewayPhone:
    """``fakewap`` as a WAP 1.x phone talking to the gateway at ``address``."""

    address: str
    folder: Path
    server: str
    requests: int = field(default=0)

    async def fetch(self, path: str, body: str | None = None) -> str:
        """The deck at ``path`` (POSTing ``body`` if given), as compiled by the gateway, in WML."""
        self.requests += 1
        reply = self.folder / f"reply{self.requests}.wmlc"
        command = [str(FAKEWAP), "-g", self.address, "-p", str(WSP_PORT), "-M", "0", "-m", "1"]
        command += ["-w", str(reply)]
        if body is not None:
            posted = self.folder / f"post{self.requests}.txt"
            posted.write_text(body)
            command += ["-P", str(posted)]
        process = await asyncio.create_subprocess_exec(
            *command, self.server + path, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, log = await asyncio.wait_for(process.communicate(), timeout=30)
        assert b"Received WSP Reply with status code 200" in log, log.decode(errors="replace")
        return decompiled(reply.read_bytes())


async def _listening(port: int, deadline: float) -> None:
    """Waits until bearerbox accepts wapbox's connection (wapbox gives up at once otherwise)."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.1)
        else:
            writer.close()
            await writer.wait_closed()
            return


async def _ready(server: uvicorn.Server, admin_port: int, deadline: float) -> None:
    """Waits until Régie serves and wapbox shows among bearerbox's box connections."""
    loop = asyncio.get_running_loop()
    status = f"http://127.0.0.1:{admin_port}/status.txt?password={ADMIN_PASSWORD}"
    async with httpx.AsyncClient() as admin:
        while not server.started or "wapbox, IP" not in (await admin.get(status)).text:
            if loop.time() > deadline:
                raise TimeoutError("Régie or Kannel did not start")
            await asyncio.sleep(0.1)


async def _start(program: Path, config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        str(program), str(config), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


@pytest.fixture
async def gateway_phone(
    collector: None, app: Starlette, tmp_path: Path
) -> AsyncIterator[GatewayPhone]:
    for program in (BEARERBOX, WAPBOX, FAKEWAP):
        if not program.exists():
            missing(f"Kannel is not installed ({program}; packages kannel and kannel-extras)")
    # Régie over HTTP, served from this test's event loop: it shares the test's database.
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
    admin_port, box_port = _free_port(), _free_port()
    config = tmp_path / "kannel.conf"
    config.write_text(
        f"""group = core
admin-port = {admin_port}
admin-password = {ADMIN_PASSWORD}
admin-allow-ip = "127.0.0.1"
wapbox-port = {box_port}
wdp-interface-name = "{address}"
box-allow-ip = "127.0.0.1"
log-file = "{tmp_path}/bearerbox.log"

group = wapbox
bearerbox-host = 127.0.0.1
log-file = "{tmp_path}/wapbox.log"
syslog-level = none
"""
    )
    boxes: list[asyncio.subprocess.Process] = []
    try:
        deadline = asyncio.get_running_loop().time() + 30
        boxes.append(await _start(BEARERBOX, config))
        await _listening(box_port, deadline)
        boxes.append(await _start(WAPBOX, config))
        await _ready(server, admin_port, deadline)
        yield GatewayPhone(address, tmp_path, f"http://127.0.0.1:{port}")
    finally:
        for box in reversed(boxes):
            await _stop(box)
        server.should_exit = True
        await serving


def _token(deck: str) -> str:
    found = re.search(r"\?s=([A-Za-z0-9_-]{43})\"", deck)
    assert found is not None, deck
    return found.group(1)


def _postfield(deck: str, name: str) -> str:
    found = re.search(rf'<postfield name="{name}" value="([^"]+)"/>', deck)
    assert found is not None, deck
    return found.group(1)


async def test_a_collector_walks_the_whole_path_through_a_kannel_gateway(
    gateway_phone: GatewayPhone,
) -> None:
    phone = gateway_phone
    tenant, _ = await tenant_with_payments("Lacombe", "Émile", confirmed=8, declared=2, rejected=2)

    sign_in = await phone.fetch("/wml/")
    assert "Identifiant :" in sign_in and 'type="password"' in sign_in

    search = await phone.fetch("/wml/connexion", f"u=jldelmas&d={DEVICE_SECRET}&p={COLLECTOR_PIN}")
    token = _token(search)
    assert 'title="Recherche"' in search and COLLECTOR_PIN not in search

    results = await phone.fetch(f"/wml/recherche?s={token}", "q=lacombe")
    assert "Lacombe Émile, Moissac" in results
    assert _postfield(results, "c") == tenant.code

    account = await phone.fetch(f"/wml/compte?s={token}", f"c={tenant.code}")
    assert "Solde confirmé :" in account and "Part locataire : 450,00 EUR/mois" in account
    assert account.count("EUR déclaré") == 2

    older = _postfield(account, "a")
    payments = await phone.fetch(f"/wml/paiements?s={token}", f"c={tenant.code}&a={older}")
    assert payments.count("EUR confirmé") == 8 and payments.count("EUR rejeté le") == 1

    home = await phone.fetch(f"/wml/?s={token}")
    assert 'title="Recherche"' in home

    # fakewap cannot post an empty body; the sign-out form ignores what it is sent.
    signed_out = await phone.fetch(f"/wml/deconnexion?s={token}", "x=1")
    assert "Vous êtes déconnecté." in signed_out
    assert "Session expirée" in await phone.fetch(f"/wml/recherche?s={token}", "q=lacombe")
