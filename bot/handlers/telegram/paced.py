"""Every message the bot sends or edits takes its turn of the bot's budget (`bot.pace`).

A Bot API session middleware, so that nothing sends around it: replies, the error
handlers' apologies, staff cards, pushes. Answers to button presses, inline queries
and payment questions are no messages and go at once. What Telegram asks us to wait
(429 `retry_after`) is waited, and the message takes a turn again: a retry that
skipped the budget would push another sender's message past the limit. A reply is
never dropped for it, however long Telegram asks; a push or a broadcast, which has a
durable queue behind it, goes back there after a few tries or before a long wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods.base import TelegramType
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from bot.pace import URGENCY, Pace
from shop.outbox import Urgency

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

QUEUED_ATTEMPTS = 3  # tries of a push or broadcast here before it goes back to its queue
QUEUED_LONGEST_WAIT = 30  # seconds of flood control waited here for one; longer, back to the queue
REPLY_ATTEMPTS = 5  # tries of a reply that could not reach Telegram (a network or server error)
MESSAGES = ("send", "edit", "copy", "forward")  # how the methods that make a message start
# Telegram out of reach for a moment; a proxy's error page before it is no answer at all.
_BLIPS = (TelegramNetworkError, TelegramServerError, ClientDecodeError)
_after_a_blip = wait_exponential(multiplier=0.5, max=8)


class Paced(BaseRequestMiddleware):
    """Make each message request in its turn of `pace`, again after a flood wait or a blip."""

    def __init__(self, pace: Pace, *, sleep: Sleep = asyncio.sleep) -> None:
        """Pace messages by `pace`; `sleep` makes the waits Telegram asks for (tests record them)."""
        self._pace = pace
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Make the request when the budget allows; wait and make it again as the rules say."""
        name = method.__api_method__
        if not name.startswith(MESSAGES) or name == "sendChatAction":
            return await make_request(bot, method)
        chat_id = getattr(method, "chat_id", None)
        chat = None if chat_id is None else str(chat_id)  # an inline-mode message has none
        urgency = URGENCY.get()

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                "%s to %s: %s; again in %.1f s",
                name,
                chat,
                type(error).__name__,
                state.upcoming_sleep,
            )

        retrying = AsyncRetrying(
            sleep=self._sleep,
            retry=retry_if_exception_type((TelegramRetryAfter, *_BLIPS)),
            stop=lambda state: _gives_up(urgency, state),
            wait=_wait,
            before_sleep=before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self._pace.turn(chat, urgency)
                return await make_request(bot, method)
        raise AssertionError("unreachable")  # pragma: no cover - reraise ends the loop


def _gives_up(urgency: Urgency, state: RetryCallState) -> bool:
    """Tell whether a message refused as in `state` goes no further here."""
    error = state.outcome.exception() if state.outcome else None
    if urgency is Urgency.REPLY:  # a customer waits for it: flood control is waited out
        return not isinstance(error, TelegramRetryAfter) and state.attempt_number >= REPLY_ATTEMPTS
    if isinstance(error, TelegramRetryAfter):
        return state.attempt_number >= QUEUED_ATTEMPTS or error.retry_after > QUEUED_LONGEST_WAIT
    return True  # its queue tries again later, with its own backoff


def _wait(state: RetryCallState) -> float:
    """Return how long to wait before the next try: as Telegram asked, else a growing while."""
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, TelegramRetryAfter):
        return float(error.retry_after)
    return _after_a_blip(state)
