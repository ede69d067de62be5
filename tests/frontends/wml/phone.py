"""What the WML tests do with decks: sign in like a phone, validate, compile, read what is displayed.

Tools that may be missing skip (or fail under ``REGIE_REQUIRE_ALL=1``): libwbxml's ``xml2wbxml``,
Kannel's ``wml_tester``, and the WAP Forum DTDs in ``../shared/dtd`` (reference material next to
the checkout, never read by the product).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import httpx
from lxml import etree

from regie.frontends.wml.wbxml import size_bound
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET, missing

# Reference material beside the project (never read by the product): REGIE_WML_DTD_DIR, or the
# ../shared/dtd next to the checkout. Without it decks are checked for their WML 1.1 doctype only.
SHARED_DTD = Path(
    os.environ.get("REGIE_WML_DTD_DIR")
    or Path(__file__).resolve().parents[3].parent / "shared" / "dtd"
)
KANNEL_COMPILER = Path("/usr/lib/kannel/test/wml_tester")
WML_11 = "-//WAPFORUM//DTD WML 1.1//EN"
LIMIT = 1397
UTF8 = {"Accept-Charset": "utf-8"}
LATIN1 = {"Accept-Charset": "iso-8859-1"}
TOKEN = re.compile(r"[?&]s=([A-Za-z0-9_-]+)")
FORM_VARIABLES = {"$(u)", "$(d)", "$(p)", "$(q)", "$(n)"}
"""The only WML variables a deck may hold: what the sign-in and search cards post."""


@dataclass(frozen=True)
class Deck:
    """A deck as the phone receives it."""

    body: bytes
    charset: str
    root: etree._Element

    @property
    def card(self) -> etree._Element:
        cards = self.root.findall("card")
        assert len(cards) >= 1
        return cards[0]

    def displayed(self, element: etree._Element | None = None) -> str:
        """The text of the first card (or ``element``) as the phone shows it: ``<br/>`` is a line
        break, ``$$`` is ``$``."""
        return displayed_text(_text(element if element is not None else self.card))

    def urls(self) -> list[str]:
        return [
            value
            for element in self.root.iter(etree.Element)
            for name, value in element.attrib.items()
            if name in ("href", "onpick")
        ]

    def postfields(self) -> list[dict[str, str]]:
        return [dict(go.attrib) for go in self.root.iter("postfield")]


def _text(element: etree._Element) -> str:
    parts = ["\n" if element.tag == "br" else element.text or ""]
    for child in element:
        parts += [_text(child), child.tail or ""]
    return "".join(parts)


def displayed_text(text: str) -> str:
    """WML variable syntax: ``$$`` shows ``$``; any other ``$`` would start a variable."""
    assert "$" not in text.replace("$$", ""), text
    return text.replace("$$", "$")


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def deck_of(response: httpx.Response) -> Deck:
    assert response.status_code == 200, response.text
    media_type, _, parameters = response.headers["content-type"].partition(";")
    assert media_type == "text/vnd.wap.wml"
    charset = parameters.strip().removeprefix("charset=")
    assert charset in ("utf-8", "iso-8859-1")
    declared = re.match(rb'<\?xml version="1.0" encoding="([^"]+)"\?>', response.content)
    assert declared is not None and declared.group(1).decode().lower() == charset
    return Deck(response.content, charset, etree.fromstring(response.content, _PARSER))


async def sign_in(
    client: httpx.AsyncClient, username: str = "jldelmas", headers: dict[str, str] = UTF8
) -> tuple[str, Deck]:
    """Sign in through the sign-in card's form; the session token and the deck served."""
    response = await client.post(
        "/wml/connexion",
        data={"u": username, "d": DEVICE_SECRET, "p": COLLECTOR_PIN},
        headers=headers,
    )
    deck = deck_of(response)
    found = TOKEN.search(deck.urls()[0])
    assert found is not None, deck.body
    return found.group(1), deck


# --- the DTD, through the catalog of ../shared/dtd ---------------------------------------------


@cache
def _catalog() -> dict[str, Path] | None:
    if not (SHARED_DTD / "catalog.xml").exists():
        return None
    root = etree.parse(str(SHARED_DTD / "catalog.xml"), _PARSER).getroot()
    entries: dict[str, Path] = {}
    for entry in root:
        key = entry.get("publicId") or entry.get("systemId")
        if key and entry.get("uri"):
            entries[key] = SHARED_DTD / str(entry.get("uri"))
    return entries


class _CatalogResolver(etree.Resolver):
    """Resolves public identifiers (then system identifiers) through the catalog, offline."""

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> object:
        catalog = _catalog()
        for key in (public_id, system_url):
            if key in catalog:
                return self.resolve_filename(str(catalog[key]), context)
        return None


def assert_valid(deck: Deck) -> None:
    """WML 1.1 by its doctype, and valid against the WAP Forum DTD the catalog maps it to."""
    catalog = _catalog()
    info = etree.fromstring(deck.body, _PARSER).getroottree().docinfo
    assert info.public_id == WML_11
    if catalog is None:
        return  # the DTDs are reference material that a clone may not have beside it
    assert catalog[info.public_id] == catalog[str(info.system_url)]
    parser = etree.XMLParser(
        dtd_validation=True, resolve_entities=False, no_network=True, load_dtd=True
    )
    parser.resolvers.add(_CatalogResolver())
    etree.fromstring(deck.body, parser)  # raises XMLSyntaxError with the DTD's complaint


def assert_softkeys(deck: Deck, home: str) -> None:
    """Every card: an accept softkey, and a prev softkey that goes back."""
    for card in deck.root.findall("card"):
        kinds = [do.get("type") for do in card.findall("do")]
        assert "accept" in kinds and "prev" in kinds, etree.tostring(card)
        prev = card.find("do[@type='prev']")
        assert prev is not None and prev.find("prev") is not None
    if home:
        # Back to search in one key: the accept softkey of result, account and payment cards.
        accept = deck.card.find("do[@type='accept']/go")
        assert accept is not None and accept.get("href") == home


def assert_well_formed_deck(deck: Deck, token: str | None) -> None:
    """DTD-valid, small enough once compiled, the session (only) in every URL, no stray variable."""
    assert_valid(deck)
    size = compiled_size(deck)
    assert size <= size_bound(deck.body) <= LIMIT
    for url in deck.urls():
        if url.startswith("#"):
            continue
        assert url.startswith("/wml/")
        path, _, query = url.partition("?")
        if token is None or path == "/wml/connexion":
            assert query == ""
        else:
            assert query == f"s={token}"  # the session, and nothing else, in every URL
    for element in deck.root.iter(etree.Element):
        for value in element.attrib.values():
            if "$" in value.replace("$$", ""):
                assert value in FORM_VARIABLES, value


# --- compilers -----------------------------------------------------------------------------------


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (apt-get install libwbxml2-utils)")
    assert path is not None
    return path


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)  # noqa: S603 - fixed tools


def compiled_size(deck: Deck | bytes) -> int:
    """The deck's size once compiled by libwbxml's ``xml2wbxml``, as a gateway does."""
    body = deck.body if isinstance(deck, Deck) else deck
    with tempfile.TemporaryDirectory(prefix="regie-wml-") as folder:
        source, target = Path(folder, "deck.wml"), Path(folder, "deck.wbxml")
        source.write_bytes(body)
        _run(_tool("xml2wbxml"), "-o", str(target), str(source))
        return target.stat().st_size


def kannel_compiled(deck: Deck) -> bytes:
    """The deck compiled by Kannel's gateway compiler (``kannel-extras``)."""
    if not KANNEL_COMPILER.exists():
        missing(
            f"Kannel's WML compiler is not installed ({KANNEL_COMPILER}, package kannel-extras)"
        )
    with tempfile.TemporaryDirectory(prefix="regie-wml-") as folder:
        source, target = Path(folder, "deck.wml"), Path(folder, "deck.wmlc")
        source.write_bytes(deck.body)
        _run(str(KANNEL_COMPILER), "-b", "-c", deck.charset, "-f", str(target), str(source))
        return target.read_bytes()


def decompiled(wbxml: bytes) -> str:
    """A compiled deck back to WML with ``wbxml2xml``: variables show as ``$(name:noesc)``."""
    with tempfile.TemporaryDirectory(prefix="regie-wml-") as folder:
        source, target = Path(folder, "deck.wmlc"), Path(folder, "deck.wml")
        source.write_bytes(wbxml)
        _run(_tool("wbxml2xml"), "-o", str(target), str(source))
        return target.read_text(encoding="utf-8")
