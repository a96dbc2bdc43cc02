"""One send budget per bot: so many messages a second in all, to one chat, and to one group.

The `limits` library keeps the counts in a moving window (never more than N in any
second, not just per calendar second), in memory or in Redis: with REDIS_URL every
worker of a shop counts against one budget per bot, so all of them together still
send no faster than the platform allows.

Every send takes its turn here, replies to customers, pushes and broadcasts alike,
and when the budget is short the most urgent goes first: within a process by the
order of its line, across processes by a mark in the shared storage that a reply
(or a push) left when it had to wait, which makes less urgent senders everywhere
give way for a moment.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from shop.outbox import Urgency

SHORTEST_WAIT = 0.005  # seconds: a window's reset can be a hair in the past by our clock
# Seconds waited past a window's reset: the platform counts sends as they reach it, after
# we count them, and a busy event loop can hold one back tens of milliseconds more than
# the next (25 ms let a crowd's first burst reach the fake Bot API 11 in a second).
MARGIN = 0.05
# Sent at the budget's very rate, unasked messages left no room for that delay: a moment's
# stall on either side bunched enough of them for the platform to count more than its
# limit in a second (a 3,000-message broadcast at 150/s, 11-28 refused, in most runs on
# a 2-core machine). They leave this share of the budget spare.
SPARE = 0.2
# A sender that had to wait for the budget in the last second makes less urgent ones
# (in every process) give way; they look again this often whether it still waits.
# A few marks a second are kept (a short list in Redis), so that while senders keep
# waiting, the last second always holds one.
WANTED = RateLimitItemPerSecond(10)
GIVE_WAY = 0.05

# How urgent the sends made in this context are: replies unless a sender says otherwise.
URGENCY: ContextVar[Urgency] = ContextVar("urgency", default=Urgency.REPLY)


class Pace:
    """Lets a send go when its platform's budget and its chat's allow it, the most urgent first."""

    def __init__(
        self,
        name: str,
        *,
        overall: int,
        per_chat: int | None,
        per_group: int | None,
        redis_url: str | None,
    ) -> None:
        """Count `overall` sends a second for bot `name`, `per_chat` to one chat, `per_group` a minute to a group.

        A platform without a limit to a chat (None) keeps no count per chat.
        """
        self._pool: ConnectionPool | None = None
        if redis_url:
            # Our own pool, so that `close` can close it (the library's storage never does).
            self._pool = ConnectionPool.from_url(redis_url)
            storage: Storage = RedisStorage(
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
        self._per_chat = None if per_chat is None else RateLimitItemPerSecond(per_chat)
        self._per_group = None if per_group is None else RateLimitItemPerMinute(per_group)
        self._line = Line()
        # Sends leave spread out, never a second's budget at once. Sent at once, a burst
        # reaches the platform over tens of milliseconds (as connections open), and its
        # last sends and the next burst's first fall within one second there. Replies
        # leave at most twice as fast as the budget allows (a burst of them is answered
        # within half a second), pushes and broadcasts no faster: a burst of those would
        # fill the window, and a reply that came just after would wait the whole second.
        # Pushes and broadcasts also leave SPARE of the budget unused (see there).
        self._gaps = {
            u: (1 + SPARE) / overall if u > Urgency.REPLY else 0.5 / overall for u in Urgency
        }
        self._last_sent = 0.0

    async def turn(self, chat: str | None, urgency: Urgency = Urgency.REPLY) -> None:
        """Wait until a message to `chat` (None: no chat's own limit) may go, and count it as sent."""
        # Telegram's groups and channels have negative ids, and a limit a minute of their own.
        per_chat = self._per_group if chat and chat.startswith("-") else self._per_chat
        if per_chat is None:
            chat = None  # the platform counts no chat's sends apart
        place = self._line.place()  # kept when passed over: first come stays first
        while True:
            while chat and per_chat and not await self._limiter.test(per_chat, self._name, chat):
                await self._until_reset(per_chat, chat)
            async with self._line.first(urgency, place):
                # The chat's count is taken now, as the message leaves, not before a wait for
                # the budget: else two sends to a chat could leave less than a second apart.
                if await self._budget(urgency) and (
                    not chat or not per_chat or await self._limiter.hit(per_chat, self._name, chat)
                ):
                    return
            # A more urgent sender came (it goes first), or another worker sent to this
            # chat meanwhile (this slot of the budget goes unused): in line again.

    async def close(self) -> None:
        """Close the connections to Redis, if any."""
        if self._pool is not None:
            await self._pool.aclose()

    async def _budget(self, urgency: Urgency) -> bool:
        """Take one send of the bot's budget, first in this process's line; False if passed over.

        Waits while the budget is spent, and while a more urgent sender in another
        process waits for it; gives up its place when a more urgent one joins this line.
        """
        clock = asyncio.get_running_loop()
        while not self._line.more_urgent_than(urgency):
            early = self._last_sent + self._gaps[urgency] - clock.time()
            if early > 0:
                await asyncio.sleep(min(early, GIVE_WAY))
            elif urgency > Urgency.REPLY and await self._others_more_urgent(urgency):
                await asyncio.sleep(GIVE_WAY)
            elif await self._limiter.hit(self._overall, self._name):
                self._last_sent = clock.time()
                return True
            else:
                if urgency < Urgency.BROADCAST:
                    await self._limiter.hit(WANTED, self._name, "wants", str(urgency.value))
                await self._until_reset(self._overall)
        return False

    async def _others_more_urgent(self, urgency: Urgency) -> bool:
        """Tell whether a sender more urgent than `urgency` waited for the budget a moment ago."""
        for more in Urgency:
            if more >= urgency:
                return False
            marks = await self._limiter.get_window_stats(
                WANTED, self._name, "wants", str(more.value)
            )
            if marks.remaining < WANTED.amount:
                return True
        return False

    async def _until_reset(self, item: RateLimitItem, *identifiers: str) -> None:
        """Sleep until the oldest send in the window has fallen out of it (by a margin)."""
        stats = await self._limiter.get_window_stats(item, self._name, *identifiers)
        await asyncio.sleep(max(SHORTEST_WAIT, stats.reset_time + MARGIN - time.time()))


class Line:
    """This process's senders, one at a time, the most urgent first and then first come.

    Dozens of chats waking together at each free slot would each ask Redis, and the
    sends granted meanwhile would leave late and reach the platform bunched: so one
    sender at a time asks for the budget, the others wait their turn here.
    """

    def __init__(self) -> None:
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._busy = False

    def place(self) -> int:
        """Return a place in the order of arrival."""
        return next(self._order)

    @asynccontextmanager
    async def first(self, urgency: Urgency, place: int) -> AsyncIterator[None]:
        """Hold the line: at once if nobody holds it, else after all more urgent or earlier `place`s."""
        if self._busy:
            turn = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (urgency, place, turn))
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._pass_on()  # handed the line just as it was cancelled
                raise
        self._busy = True
        try:
            yield
        finally:
            self._pass_on()

    def more_urgent_than(self, urgency: Urgency) -> bool:
        """Tell whether someone more urgent than `urgency` waits for the line."""
        while self._waiting and self._waiting[0][2].done():  # cancelled while waiting
            heapq.heappop(self._waiting)
        return bool(self._waiting) and self._waiting[0][0] < urgency

    def _pass_on(self) -> None:
        """Hand the line to the next waiter, or leave it free."""
        while self._waiting:
            turn = heapq.heappop(self._waiting)[2]
            if not turn.done():
                turn.set_result(None)
                return
        self._busy = False
