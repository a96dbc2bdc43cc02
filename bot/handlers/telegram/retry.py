"""Telegram's flood control: wait as long as it asks, a bounded number of times, then give up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

# Set while a paced sender (the delivery worker) makes its requests: it waits out flood
# control itself and takes a turn of the shared budget again, which a retry here would skip.
PACED: ContextVar[bool] = ContextVar("paced", default=False)


class RetryAfter(BaseRequestMiddleware):
    """Retry a Bot API call refused with `retry_after`, after waiting the time asked.

    At most `attempts` tries in all, and never a wait longer than `max_wait`
    seconds: a longer ban is passed on as the TelegramRetryAfter it is.
    """

    def __init__(self, *, attempts: int = 3, max_wait: float = 30.0, sleep: Sleep = asyncio.sleep):
        self._attempts = attempts
        self._max_wait = max_wait
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Make the request, waiting and retrying while Telegram asks to slow down."""
        if PACED.get():
            return await make_request(bot, method)
        for attempt in range(1, self._attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt == self._attempts or error.retry_after > self._max_wait:
                    raise
                log.warning(
                    "%s: flood control, retrying in %s s (try %s of %s)",
                    method.__api_method__,
                    error.retry_after,
                    attempt + 1,
                    self._attempts,
                )
                await self._sleep(error.retry_after)
        raise AssertionError("unreachable")  # pragma: no cover
