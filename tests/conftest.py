"""Shared fixtures: a fresh database per test (SQLite in memory, or PostgreSQL), an ASGI client.

``REGIE_TEST_DATABASE=postgres`` runs the suite on PostgreSQL (``REGIE_TEST_POSTGRES_URL``, default
the local server, one throw-away database per test). Without a reachable server those tests skip,
unless ``REGIE_REQUIRE_ALL=1`` (CI), under which a missing tool or service fails the run.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlparse

import httpx
import pytest
from starlette.applications import Starlette
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


@pytest.fixture
async def db() -> AsyncIterator[TortoiseContext]:
    async with tortoise_test_context(
        MODEL_MODULES, db_url=database_url(), app_label=APP_LABEL
    ) as ctx:
        yield ctx


@pytest.fixture
def app() -> Starlette:
    return create_app(load_settings({"REGIE_ENV": "development"}))


@pytest.fixture
async def client(db: TortoiseContext, app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
