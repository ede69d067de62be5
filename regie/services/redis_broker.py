"""Live updates across processes through Redis pub/sub.

Each process publishes to Redis and holds one pattern subscription (``regie:*``), lazily opened by
its first subscriber, from which it fans messages out to its own subscribers. A dropped Redis
connection is retried every second; messages published meanwhile are lost, which subscribers
tolerate (they re-read the account on the next message).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import redis.asyncio as redis

from regie.services.events import InProcessBroker, encode

logger = logging.getLogger("regie.events")

PREFIX = "regie:"
RETRY_SECONDS = 1.0
LISTEN_TIMEOUT_SECONDS = 5.0


class RedisBroker(InProcessBroker):
    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        super().__init__()
        self._url = url
        self._prefix = prefix
        self._client: redis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    def _redis(self) -> redis.Redis:
        if self._client is None:
            self._client = redis.from_url(self._url)
        return self._client

    async def publish_many(self, messages: Iterable[tuple[str, dict[str, Any]]]) -> None:
        batch = [(self._prefix + channel, encode(message)) for channel, message in messages]
        if not batch:
            return
        async with self._redis().pipeline(transaction=False) as pipe:
            for channel, data in batch:
                pipe.publish(channel, data)
            await pipe.execute()

    def reaches(self, channel: str) -> bool:
        return True  # another process may subscribe to it

    async def subscribe(self, *channels: str) -> AsyncIterator[dict[str, Any]]:
        await self.start_listening()
        async for message in super().subscribe(*channels):
            yield message

    async def start_listening(self) -> None:
        """Open the process's pattern subscription, once; returns when Redis has confirmed it."""
        if self._listener is None or self._listener.done():
            self._listening.clear()
            self._listener = asyncio.create_task(self._listen(), name="regie-redis-events")
        # Without Redis, subscribers still get this process's updates once it comes back.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), LISTEN_TIMEOUT_SECONDS)

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis().pubsub()
            try:
                await pubsub.psubscribe(self._prefix + "*")
                # Wait for Redis to confirm the subscription before telling subscribers we listen.
                while True:
                    confirmation = await pubsub.get_message(timeout=5.0)
                    if confirmation is not None and confirmation["type"] == "psubscribe":
                        break
                self._listening.set()
                async for message in pubsub.listen():
                    if message["type"] != "pmessage":
                        continue
                    channel = message["channel"]
                    if isinstance(channel, bytes):
                        channel = channel.decode()
                    try:
                        payload = json.loads(message["data"])
                    except (ValueError, TypeError):
                        logger.warning("ignoring a malformed live update on %s", channel)
                        continue
                    self.deliver(channel[len(self._prefix) :], payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Redis live updates interrupted; retrying")
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await super().close()
