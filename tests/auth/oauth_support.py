"""Helpers for the OAuth2 tests: clients, users, a test app whose signed-in viewer a test sets."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from regie.auth import oauth_routes
from regie.db import people
from regie.services import clock, oauth_clients
from regie.services.access import ROLE_SCOPES, Viewer
from regie.settings import Settings, load_settings

BASE_URL = "http://testserver"
REDIRECT_URI = "https://app.example.fr/callback"
APP_REDIRECT_URI = "fr.office.regie:/oauth/callback"


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


def challenge_of(verifier: str) -> str:
    return oauth_clients.s256_challenge(verifier)


def default_settings() -> Settings:
    return load_settings({"REGIE_ENV": "development"})


async def user(username: str, role: people.Role = people.Role.OFFICE) -> people.User:
    return await people.User.create(username=username, full_name=username.title(), role=role)


def session_viewer(person: people.User, session_id: int = 1) -> Viewer:
    """The viewer a cookie session of ``person`` gives (what the principal middleware sets)."""
    return Viewer(
        user_id=person.id,
        role=person.role,
        commune_ids=None if person.role != people.Role.COLLECTOR else frozenset(),
        scopes=ROLE_SCOPES[person.role],
        session_id=session_id,
    )


@dataclass
class SignedIn:
    """Who the test app's browser is signed in as (``None``: nobody)."""

    viewer: Viewer | None = None


def oauth_app(signed_in: SignedIn, settings: Settings | None = None) -> ASGIApp:
    """The OAuth2 routes alone, behind a test-only wrapper that sets ``request.state.viewer``."""
    inner = Starlette(routes=oauth_routes.routes)
    inner.state.settings = settings or default_settings()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["viewer"] = signed_in.viewer
        await inner(scope, receive, send)

    return app


@asynccontextmanager
async def browser(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


class _HiddenFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def hidden_fields(page: str) -> dict[str, str]:
    parser = _HiddenFields()
    parser.feed(page)
    return parser.fields


def authorize_url(client_id: str, challenge: str, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "tenants:read",
        "state": "xyz-state",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def approve(http: httpx.AsyncClient, url: str, decision: str = "approve") -> httpx.Response:
    """Open the consent page at ``url`` and press a button, as a browser would."""
    page = await http.get(url)
    assert page.status_code == 200, page.text
    return await http.post(
        "/oauth/authorize", data={**hidden_fields(page.text), "decision": decision}
    )


async def public_client(
    name: str = "Appli mobile",
    scopes: tuple[str, ...] = ("tenants:read", "field:write", "office"),
    redirect_uris: tuple[str, ...] = (REDIRECT_URI,),
) -> oauth_clients.NewClient:
    return await oauth_clients.create_client(
        name, scopes=scopes, redirect_uris=redirect_uris, public=True
    )


async def confidential_client(
    scopes: tuple[str, ...] = ("confirmations:write",),
    redirect_uris: tuple[str, ...] = (),
    name: str = "Trésorerie",
) -> oauth_clients.NewClient:
    return await oauth_clients.create_client(name, scopes=scopes, redirect_uris=redirect_uris)


class FrozenClock:
    """Replaces ``regie.services.clock.now_utc``; ``advance`` moves time on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, start: datetime | None = None) -> None:
        self.now = (start or clock.now_utc()).replace(microsecond=0)
        monkeypatch.setattr(clock, "now_utc", lambda: self.now)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
