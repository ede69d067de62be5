"""Live updates: what a committed write publishes, and to whom."""

from __future__ import annotations

import asyncio
from typing import Any

from regie.services import events


class RecordingBroker(events.InProcessBroker):
    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def publish_many(self, messages: Any) -> None:
        batch = list(messages)
        self.published += batch
        await super().publish_many(batch)


async def test_an_account_message_is_built_only_where_somebody_listens() -> None:
    broker = RecordingBroker()
    previous = events.use_broker(broker)
    try:
        listener = broker.subscribe(events.account_channel("1000002"))
        first = asyncio.ensure_future(anext(listener))
        await asyncio.sleep(0)  # subscribed
        change = events.AccountsChanged(
            tenant_codes=("1000001", "1000002", "1000003", "1000002"),
            reason="confirmation",
            channel="file",
            applied=4,
            applied_at="2026-11-27T10:00:00+00:00",
        )
        await events.publish_accounts_changed(change)
        assert await asyncio.wait_for(first, 1) == {
            "tenantCode": "1000002",
            "reason": "confirmation",
        }
        channels = [channel for channel, _ in broker.published]
        assert channels == [events.account_channel("1000002"), events.CONFIRMATIONS_CHANNEL]
        summary = broker.published[-1][1]
        assert summary["tenantCodes"] == ["1000001", "1000002", "1000003"]
        await listener.aclose()
        assert not broker.reaches(events.account_channel("1000002"))
    finally:
        events.use_broker(previous)
