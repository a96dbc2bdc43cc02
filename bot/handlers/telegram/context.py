"""Who is talking: the Telegram user behind an update, as the flows know a customer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.middlewares.user_context import EVENT_FROM_USER_KEY
from aiogram.types import TelegramObject, Update, User

from bot.flows.context import Capabilities
from bot.flows.engine import Who
from bot.flows.locks import KeyedLocks
from shop.models import Channel

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# Inline mode, invoices (cards and Stars), the "share my phone number" button, edits in place.
TELEGRAM = Capabilities(inline_search=True, invoices=True, shares_contact=True, edits=True)


def who_of(user: User) -> Who:
    """Return the customer identity of a Telegram user (their id, name and app language)."""
    return Who(
        channel=Channel.TELEGRAM,
        external_id=str(user.id),
        display_name=user.full_name,
        language_code=user.language_code,
        can=TELEGRAM,
    )


class WhoMiddleware(BaseMiddleware):
    """Put `who` (the customer behind the update) into every handler's data."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        """Name the sender for the handlers; updates without one pass as they are."""
        user = data.get(EVENT_FROM_USER_KEY)
        if isinstance(user, User):
            data["who"] = who_of(user)
        return await handler(event, data)


class InOrder(BaseMiddleware):
    """Handle one customer's updates one at a time, in the order Telegram sent them.

    Polling runs each update as a task of its own; this queues a customer's messages
    and presses behind one lock (asyncio's locks are first come, first served), so a
    quick second press never overtakes the first. The lock is held while the flows
    answer and the replies are queued (`outgoing.Outgoing` sends them in that order),
    not while the replies wait for their turn to go. Customers do not wait for each
    other. It also counts the updates in hand, for a shutdown that lets them finish.
    """

    def __init__(self) -> None:
        self._locks = KeyedLocks()
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def drained(self) -> None:
        """Wait until every update that came in has been handled (for a clean shutdown)."""
        await self._idle.wait()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        """Wait for this customer's earlier updates, then handle this one."""
        self._busy += 1
        self._idle.clear()
        try:
            return await self._in_turn(handler, event, data)
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    async def _in_turn(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get(EVENT_FROM_USER_KEY)
        conversational = isinstance(event, Update) and (event.message or event.callback_query)
        if not isinstance(user, User) or not conversational:
            # Inline queries, shipping and pre-checkout questions change no conversation and
            # must be answered at once: they never wait behind the customer's other updates.
            return await handler(event, data)
        async with self._locks.hold(str(user.id)):
            return await handler(event, data)
