"""Checks every HTML page must pass, and ways to read pages in tests."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

import html5lib
import httpx
from starlette.applications import Starlette

from regie.auth.principal import SESSION_COOKIE
from regie.services import sessions
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET

FRENCH = {"accept-language": "fr-FR,fr;q=0.9"}
FIELDS = ("input", "select", "textarea")


def parse(markup: str) -> Element:
    """Parse as a browser would, refusing any HTML5 parse error (html5lib's strict mode)."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    document: Element = parser.parse(markup)
    return document


def check_page(markup: str) -> Element:
    """Valid HTML5 and the house rules: title, language, labels, accesskeys, no script, CSRF."""
    assert markup.startswith("<!DOCTYPE html>\n"), "an HTML5 doctype first"
    document = parse(markup)
    assert document.get("lang") in ("fr", "en")
    head = document.find("head")
    assert head is not None
    metas = head.findall("meta")
    assert any(m.get("charset") == "utf-8" for m in metas), "UTF-8 declared"
    assert any(m.get("name") == "viewport" for m in metas), "a viewport for small screens"
    title = head.find("title")
    assert title is not None and (title.text or "").strip(), "a title"
    assert not document.findall(".//script"), "no script"
    assert not document.findall(".//img") and not document.findall(".//iframe")
    assert not [e for e in document.iter() if any(a.startswith("on") for a in e.attrib)]
    stylesheets = [link for link in head.findall("link") if link.get("rel") == "stylesheet"]
    assert len(stylesheets) <= 1 and all(
        link.get("href", "").startswith("/static/") for link in stylesheets
    ), "at most one stylesheet, our own"
    assert len(document.findall(".//h1")) == 1, "one heading 1"

    ids = [e.get("id") for e in document.iter() if e.get("id")]
    assert len(ids) == len(set(ids)), f"unique ids: {ids}"
    keys = [e.get("accesskey") for e in document.iter() if e.get("accesskey")]
    assert len(keys) == len(set(keys)), f"unique accesskeys: {keys}"
    assert all(len(k or "") == 1 for k in keys)

    labelled = {label.get("for") for label in document.iter("label") if label.get("for")}
    wrapped = {id(field) for label in document.iter("label") for field in label.iter()}
    for field in (f for tag in FIELDS for f in document.iter(tag)):
        if field.get("type") in ("hidden", "submit"):
            continue
        assert field.get("id") in labelled or id(field) in wrapped, (
            f"a label for {field.get('name')}"
        )
    for form in document.iter("form"):
        assert form.get("method") == "post", "forms post"
        hidden = {i.get("name") for i in form.iter("input") if i.get("type") == "hidden"}
        assert "csrf" in hidden, "forms carry a CSRF token"
    return document


BLOCKS = frozenset(
    [
        "p",
        "div",
        "li",
        "dt",
        "dd",
        "h1",
        "h2",
        "ul",
        "ol",
        "dl",
        "nav",
        "main",
        "form",
        "fieldset",
        "legend",
        "label",
        "details",
        "summary",
        "br",
        "button",
        "input",
        "title",
    ]
)


def _words(element: Element, out: list[str]) -> None:
    out.append(element.text or "")
    for child in element:
        block = child.tag in BLOCKS
        out.append(" " if block else "")
        _words(child, out)
        out.append(" " if block else "")
        out.append(child.tail or "")


def squash(text: str) -> str:
    """Whitespace, no-break spaces included, collapsed to single spaces."""
    return re.sub(r"\s+", " ", text).strip()


def text_of(markup: str) -> str:
    """The page's text, blocks apart, whitespace (no-break spaces too) collapsed to single spaces."""
    body = parse(markup).find("body")
    assert body is not None
    out: list[str] = []
    _words(body, out)
    return squash("".join(out))


def csrf_of(markup: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', markup)
    assert match is not None, "a CSRF token"
    return match.group(1)


def weight(response: httpx.Response) -> int:
    return len(response.content)


async def collector_session(username: str = "jldelmas") -> str:
    opened = await sessions.sign_in_collector(username, DEVICE_SECRET, COLLECTOR_PIN, "html")
    return opened.token


def client_for(app: Starlette, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        cookies={SESSION_COOKIE: token},
        headers=FRENCH,
    )


async def search(client: httpx.AsyncClient, text: str, **extra: str) -> httpx.Response:
    home = await client.get("/")
    return await client.post("/recherche", data={"csrf": csrf_of(home.text), "q": text, **extra})
