"""Work nobody waits on, one step a pass of the event loop, behind whatever else is ready.

A webhook that answers once its message is kept (WhatsApp) leaves the handling
to the background, and on SQLite that handling runs on the event loop between
its transactions. Several handlers ready at once would each run a step before
the loop looks at its sockets again, and a webhook that came meanwhile would
wait behind all of them (benchmarks/whatsapp.py). Background work that takes a
turn before each step lets one step go in each pass of the loop: a webhook waits
for one step at most, however many handlers are busy, and handlers are never
starved, since every pass lets one go.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Turns:
    """Hands out turns, one a pass of the event loop, in the order they were asked for."""

    def __init__(self) -> None:
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handing = False  # a hand-over is scheduled on `_loop`

    async def take(self) -> None:
        """Wait for a pass of the loop in which no other turn is taken."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a loop of its own (tests): the last one's turns are gone
            self._loop, self._waiting, self._handing = loop, deque(), False
        turn = loop.create_future()
        self._waiting.append(turn)
        if not self._handing:
            self._handing = True
            loop.call_soon(self._hand_on, loop)
        await turn

    def _hand_on(self, loop: asyncio.AbstractEventLoop) -> None:
        """Give the next waiter its turn, and the one after it the next pass."""
        if loop is not self._loop:
            return
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():  # else cancelled while it waited
                turn.set_result(None)
                break
        if self._waiting:
            loop.call_soon(self._hand_on, loop)
        else:
            self._handing = False
