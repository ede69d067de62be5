"""Live updates: what changed, published after the transaction that changed it has committed.

A :class:`Broker` carries small JSON messages on named channels. The in-process broker serves one
server process (the embedded setup); :class:`regie.services.redis_broker.RedisBroker` carries them
across processes through Redis pub/sub (``REGIE_BROKER_URL=redis://…``), so a confirmation
imported by the CLI or received by one server process reaches subscribers of every other one.

Channels: ``account:<tenant code>`` (a tenant's account changed) and ``confirmations`` (a batch
of confirmations was applied). Subscribers re-read the account: a message says *that* something
changed, never the figures, so a late or dropped message never shows a wrong balance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

logger = logging.getLogger("regie.events")

CONFIRMATIONS_CHANNEL = "confirmations"
QUEUE_SIZE = 256
"""Messages a slow subscriber may fall behind by; older ones are dropped first."""


def account_channel(tenant_code: str) -> str:
    return f"account:{tenant_code}"


class Broker(Protocol):
    async def publish_many(self, messages: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Publish ``(channel, message)`` pairs; never raises (a lost update is only logged)."""

    def subscribe(self, *channels: str) -> AsyncIterator[dict[str, Any]]:
        """Messages published on ``channels`` from now on, until the caller stops iterating."""

    def reaches(self, channel: str) -> bool:
        """Whether a message published on ``channel`` may reach a subscriber."""

    async def close(self) -> None: ...


class InProcessBroker:
    """Fan-out to the subscribers of this process."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}

    async def publish_many(self, messages: Iterable[tuple[str, dict[str, Any]]]) -> None:
        for channel, message in messages:
            self.deliver(channel, message)

    def deliver(self, channel: str, message: dict[str, Any]) -> None:
        for queue in self._subscribers.get(channel, ()):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(message)

    def has_subscribers(self, channel: str) -> bool:
        return bool(self._subscribers.get(channel))

    def reaches(self, channel: str) -> bool:
        return self.has_subscribers(channel)

    async def subscribe(self, *channels: str) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        for channel in channels:
            self._subscribers.setdefault(channel, set()).add(queue)
        self.on_subscribe(channels)
        try:
            while True:
                yield await queue.get()
        finally:
            for channel in channels:
                subscribers = self._subscribers.get(channel)
                if subscribers is not None:
                    subscribers.discard(queue)
                    if not subscribers:
                        del self._subscribers[channel]
            self.on_unsubscribe(channels)

    def on_subscribe(self, channels: tuple[str, ...]) -> None:
        """Hook for brokers that relay another transport (Redis)."""

    def on_unsubscribe(self, channels: tuple[str, ...]) -> None:
        """Hook for brokers that relay another transport (Redis)."""

    async def close(self) -> None:
        self._subscribers.clear()


_broker: dict[str, Broker] = {"current": InProcessBroker()}


def broker() -> Broker:
    return _broker["current"]


def use_broker(new: Broker) -> Broker:
    """Install ``new`` (at start-up); returns the previous broker so a caller can restore it."""
    previous = _broker["current"]
    _broker["current"] = new
    return previous


def broker_from_url(url: str | None) -> Broker:
    """The broker a setting names: empty for in-process, ``redis://…`` for Redis pub/sub."""
    if not url:
        return InProcessBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from regie.services.redis_broker import RedisBroker

        return RedisBroker(url)
    raise ValueError(f"REGIE_BROKER_URL must be empty or a redis:// URL, not {url.split(':')[0]}:…")


@dataclass(frozen=True)
class AccountsChanged:
    """What a committed write changed: the tenants whose account moved, and why."""

    tenant_codes: tuple[str, ...]
    reason: str  # "confirmation", "reversal", "match"
    channel: str  # "file", "push", "office"
    applied: int  # confirmations (and reversals) applied
    applied_at: str  # ISO 8601 UTC
    batch_id: int | None = None


async def publish_accounts_changed(change: AccountsChanged) -> None:
    """Tell subscribers; call it only after the transaction has committed."""
    if not change.tenant_codes and change.applied == 0:
        return
    target = broker()
    # A file's chunk changes thousands of accounts, which few have a subscriber in this process.
    messages: list[tuple[str, dict[str, Any]]] = [
        (channel, {"tenantCode": code, "reason": change.reason})
        for code in dict.fromkeys(change.tenant_codes)
        if target.reaches(channel := account_channel(code))
    ]
    messages.append(
        (
            CONFIRMATIONS_CHANNEL,
            {
                "tenantCodes": list(dict.fromkeys(change.tenant_codes)),
                "reason": change.reason,
                "channel": change.channel,
                "applied": change.applied,
                "appliedAt": change.applied_at,
                "batchId": change.batch_id,
            },
        )
    )
    try:
        await target.publish_many(messages)
    except Exception:  # a lost live update must never undo or fail a committed write
        logger.exception("could not publish %d live updates", len(messages))


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))
