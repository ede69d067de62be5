"""Shared fixtures: a fresh database per test (SQLite in memory, or PostgreSQL), an ASGI client.

``REGIE_TEST_DATABASE=postgres`` runs the suite on PostgreSQL (``REGIE_TEST_POSTGRES_URL``, default
the local server, one throw-away database per test). Without a reachable server those tests skip,
unless ``REGIE_REQUIRE_ALL=1`` (CI), under which a missing tool or service fails the run.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext, tortoise_test_context

from regie.app import create_app
from regie.db import MODEL_MODULES
from regie.db.config import APP_LABEL
from regie.settings import load_settings

REQUIRE_ALL = os.environ.get("REGIE_REQUIRE_ALL") == "1"
TEST_DATABASE = os.environ.get("REGIE_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get(
    "REGIE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/regie_test_{}"
)


def missing(reason: str) -> None:
    """Skip for want of a tool or service; fail instead when the run requires everything."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (REGIE_REQUIRE_ALL=1)", pytrace=False)
    pytest.skip(reason)


def _reachable(url: str) -> bool:
    parsed = urlparse(url.replace("{}", "x"))
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 5432), timeout=2
        ):
            return True
    except OSError:
        return False


def database_url() -> str:
    if TEST_DATABASE == "sqlite":
        return "sqlite://:memory:"
    if TEST_DATABASE == "postgres":
        if not _reachable(POSTGRES_URL):
            missing(f"PostgreSQL is not reachable at {POSTGRES_URL.split('@')[-1]}")
        return POSTGRES_URL
    raise pytest.UsageError(
        f"REGIE_TEST_DATABASE must be sqlite or postgres, not {TEST_DATABASE!r}"
    )


def pytest_report_header() -> str:
    return f"regie test database: {TEST_DATABASE}"


async def drop_postgres_database(url: str) -> None:
    """Tortoise's test context creates a database per test but never drops it: we do."""
    import asyncpg

    base, name = url.rsplit("/", 1)
    server = await asyncpg.connect(base + "/postgres")
    try:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await server.close()


@pytest.fixture
async def db() -> AsyncIterator[TortoiseContext]:
    url = database_url().replace("{}", uuid.uuid4().hex)
    try:
        async with tortoise_test_context(MODEL_MODULES, db_url=url, app_label=APP_LABEL) as ctx:
            yield ctx
    finally:
        if TEST_DATABASE == "postgres":
            await drop_postgres_database(url)


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[str]:
    """A database in an SQLite file (the embedded production set-up), whatever the suite's
    database; yields its URL.

    Tortoise caches each model's INSERT text by connection name, not by dialect: the cache is
    emptied on the way in and out, or a PostgreSQL test after this one would send SQLite's ``?``
    markers to PostgreSQL (and the other way round)."""
    url = f"sqlite://{tmp_path / 'regie.sqlite3'}"
    EXECUTOR_CACHE.clear()
    try:
        async with tortoise_test_context(MODEL_MODULES, db_url=url, app_label=APP_LABEL):
            yield url
    finally:
        EXECUTOR_CACHE.clear()


@pytest.fixture
def app() -> Starlette:
    return create_app(load_settings({"REGIE_ENV": "development"}))


@pytest.fixture
async def client(db: TortoiseContext, app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


OFFICE_PASSWORD = "correct horse battery staple"
COLLECTOR_PIN = "482916"
DEVICE_SECRET = "12345678901234567890"


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    from regie.services.throttle import limiter

    limiter.reset()


async def _client_with_session(app: Starlette, token: str) -> httpx.AsyncClient:
    from regie.auth.principal import SESSION_COOKIE

    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies={SESSION_COOKIE: token}
    )


@pytest.fixture
async def office_client(db: TortoiseContext, app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as office staff (sees every tenant) through the HTML session cookie."""
    from regie.db.people import Role
    from regie.services import sessions, users

    await users.create_user("claire", "Claire Rouquette", Role.OFFICE, password=OFFICE_PASSWORD)
    opened = await sessions.sign_in_office("claire", OFFICE_PASSWORD)
    async with await _client_with_session(app, opened.token) as http:
        yield http
