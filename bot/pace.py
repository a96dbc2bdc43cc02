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
from redis.asyncio import ConnectionPool

SHORTEST_WAIT = 0.005  # seconds: a window's reset can be a hair in the past by our clock
# Seconds waited past a window's reset: the platform counts sends as they reach it, a few
# milliseconds after we count them, and not always the same few.
MARGIN = 0.025


class Pace:
    """Lets a send go when both its platform's budget and its chat's allow it, else waits its turn."""

    def __init__(self, name: str, *, overall: int, per_chat: int, redis_url: str | None) -> None:
        storage: Storage
        self._pool: ConnectionPool | None = None
        if redis_url:
            # Our own pool, so that `close` can close it (the library's storage never does).
            self._pool = ConnectionPool.from_url(redis_url)
            storage = RedisStorage(
                redis_url.replace("redis://", "async+redis://", 1).replace(
                    "rediss://", "async+rediss://", 1
                ),
                implementation="redispy",
                key_prefix="chatshop-pace",
                # The library passes options on to redis-py, but types them as plain values.
                connection_pool=self._pool,  # type: ignore[arg-type]
            )
        else:
            storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(storage)
        self._name = name
        self._overall = RateLimitItemPerSecond(overall)
        self._per_chat = RateLimitItemPerSecond(per_chat)
        # This process's senders ask for the budget one at a time, in turn: dozens of chats
        # waking together at each free slot would each ask Redis, and the sends granted
        # meanwhile would leave late and reach the platform bunched.
        self._line = asyncio.Lock()

    async def turn(self, chat: str) -> None:
        """Wait until a message to `chat` may be sent, and count it as sent."""
        while True:
            while not await self._limiter.test(self._per_chat, self._name, chat):
                await self._until_reset(self._per_chat, chat)
            async with self._line:
                while not await self._limiter.hit(self._overall, self._name):
                    await self._until_reset(self._overall)
                # The chat's count is taken now, as the message leaves, not before a wait for
                # the budget: else two sends to a chat could leave less than a second apart.
                if await self._limiter.hit(self._per_chat, self._name, chat):
                    return
            # Another worker sent to this chat meanwhile: this slot of the budget goes unused.

    async def close(self) -> None:
        """Close the connections to Redis, if any."""
        if self._pool is not None:
            await self._pool.aclose()

    async def _until_reset(self, item: RateLimitItemPerSecond, *identifiers: str) -> None:
        """Sleep until the oldest send in the window has fallen out of it (by a margin)."""
        stats = await self._limiter.get_window_stats(item, self._name, *identifiers)
        await asyncio.sleep(max(SHORTEST_WAIT, stats.reset_time + MARGIN - time.time()))
