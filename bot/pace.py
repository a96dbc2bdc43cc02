"""Sending within a platform's limits: so many messages a second in all, and so many to one chat.

The `limits` library keeps the counts in a moving window (never more than N in any
second, not just per calendar second), in memory or in Redis: with REDIS_URL every
worker of a shop counts against one budget per bot, so two workers together still
send no faster than the platform allows.
"""

from __future__ import annotations

import asyncio
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

SHORTEST_WAIT = 0.005  # seconds: a window's reset can be a hair in the past by our clock


class Pace:
    """Lets a send go when both its platform's budget and its chat's allow it, else waits its turn."""

    def __init__(self, name: str, *, overall: int, per_chat: int, redis_url: str | None) -> None:
        storage: Storage
        if redis_url:
            storage = RedisStorage(
                redis_url.replace("redis://", "async+redis://", 1).replace(
                    "rediss://", "async+rediss://", 1
                ),
                implementation="redispy",
                key_prefix="chatshop-pace",
            )
        else:
            storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(storage)
        self._name = name
        self._overall = RateLimitItemPerSecond(overall)
        self._per_chat = RateLimitItemPerSecond(per_chat)

    async def turn(self, chat: str) -> None:
        """Wait until a message to `chat` may be sent, and count it as sent."""
        while not await self._limiter.hit(self._per_chat, self._name, chat):
            await self._until_reset(self._per_chat, chat)
        while not await self._limiter.hit(self._overall, self._name):
            await self._until_reset(self._overall)

    async def _until_reset(self, item: RateLimitItemPerSecond, *identifiers: str) -> None:
        """Sleep until the oldest send in the window falls out of it."""
        stats = await self._limiter.get_window_stats(item, self._name, *identifiers)
        await asyncio.sleep(max(SHORTEST_WAIT, stats.reset_time - time.time()))
