"""Live updates: accountUpdated and confirmationsApplied, in process and across processes (Redis)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import pytest

from regie.context import Context
from regie.schema.schema import schema
from regie.services import events
from regie.services.access import Viewer
from regie.services.events import InProcessBroker
from regie.treasury.importer import import_file
from tests import factories
from tests.conftest import missing
from tests.treasury.bankfiles import Tx, camt054

pytestmark = pytest.mark.usefixtures("db")

REDIS_URL = "redis://127.0.0.1:6379/0"
ACCOUNT_UPDATED = """
subscription { accountUpdated(tenantCode: "1004217") { code account { confirmedBalanceCents } } }
"""
CONFIRMATIONS = "subscription { confirmationsApplied { tenantCodes channel applied } }"


@pytest.fixture
async def in_process() -> AsyncIterator[InProcessBroker]:
    broker = InProcessBroker()
    previous = events.use_broker(broker)
    yield broker
    events.use_broker(previous)


async def _subscribe(document: str) -> AsyncIterator[Any]:
    result = await schema.subscribe(document, context_value=Context(viewer=Viewer.office_wide()))
    assert not hasattr(result, "errors") or hasattr(result, "__anext__"), result
    return result  # type: ignore[return-value]


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription never started listening")


async def _billed() -> None:
    _, lease = await factories.tenant_with_lease("Dupré", code="1004217")
    await factories.bill(lease, date(2026, 3, 1))


async def test_account_updated_delivers_the_new_balance_after_an_import(
    in_process: InProcessBroker,
) -> None:
    await _billed()
    stream = await _subscribe(ACCOUNT_UPDATED)
    first = asyncio.ensure_future(stream.__anext__())
    await _until(lambda: in_process.has_subscribers(events.account_channel("1004217")))
    await import_file(camt054([Tx("450.00", "S1", ustrd=("LOC 1004217",))]), source="test")
    result = await asyncio.wait_for(first, 5)
    assert result.errors is None
    assert result.data == {
        "accountUpdated": {"code": "1004217", "account": {"confirmedBalanceCents": 0}}
    }
    await stream.aclose()  # type: ignore[attr-defined]


async def test_confirmations_applied_names_the_tenants(in_process: InProcessBroker) -> None:
    await _billed()
    stream = await _subscribe(CONFIRMATIONS)
    first = asyncio.ensure_future(stream.__anext__())
    await _until(lambda: in_process.has_subscribers(events.CONFIRMATIONS_CHANNEL))
    await import_file(camt054([Tx("450.00", "S1", ustrd=("LOC 1004217",))]), source="test")
    result = await asyncio.wait_for(first, 5)
    assert result.data == {
        "confirmationsApplied": {"tenantCodes": ["1004217"], "channel": "file", "applied": 1}
    }
    await stream.aclose()  # type: ignore[attr-defined]


async def test_account_updated_refuses_an_unknown_tenant(in_process: InProcessBroker) -> None:
    result = await schema.subscribe(
        'subscription { accountUpdated(tenantCode: "NOPE") { code } }',
        context_value=Context(viewer=Viewer.office_wide()),
    )
    if hasattr(result, "__anext__"):
        result = await result.__anext__()
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "BAD_USER_INPUT", "argument": "tenantCode"}


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


async def test_redis_broker_carries_updates_between_processes() -> None:
    """Two brokers with their own Redis connections stand for two server processes."""
    if not _redis_reachable():
        missing("Redis is not reachable at 127.0.0.1:6379")
    from regie.services.redis_broker import RedisBroker

    subscriber_side = RedisBroker(REDIS_URL, prefix="regie-test:")
    publisher_side = RedisBroker(REDIS_URL, prefix="regie-test:")
    previous = events.use_broker(subscriber_side)
    try:
        await _billed()
        stream = await _subscribe(ACCOUNT_UPDATED)
        first = asyncio.ensure_future(stream.__anext__())
        await _until(lambda: subscriber_side.has_subscribers(events.account_channel("1004217")))
        # The import runs "in the other process": it publishes through the other broker only.
        events.use_broker(publisher_side)
        await import_file(camt054([Tx("450.00", "S1", ustrd=("LOC 1004217",))]), source="test")
        events.use_broker(subscriber_side)
        result = await asyncio.wait_for(first, 5)
        assert result.data == {
            "accountUpdated": {"code": "1004217", "account": {"confirmedBalanceCents": 0}}
        }
        await stream.aclose()  # type: ignore[attr-defined]
    finally:
        events.use_broker(previous)
        await subscriber_side.close()
        await publisher_side.close()
