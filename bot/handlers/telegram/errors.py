"""Failures at the edge: logged once, and the customer asked to try again in their language."""

from __future__ import annotations

import logging
from contextlib import suppress

from aiogram import Bot, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from bot.flows.engine import Conversations, Who
from bot.handlers.telegram.context import who_of
from payments.interface import ChargeNotRecordedError
from shop.i18n import N_, Language, pick_locale

log = logging.getLogger(__name__)

TRY_AGAIN = N_("Sorry, something went wrong. Please try again in a minute.")


def build_router() -> Router:
    """Return this feature's router: error handlers for every other router."""
    router = Router(name=__name__)
    router.error.register(blocked, ExceptionTypeFilter(TelegramForbiddenError))
    router.error.register(unrecorded, ExceptionTypeFilter(ChargeNotRecordedError))
    router.error.register(failed)
    return router


async def unrecorded(event: ErrorEvent) -> object:
    """Leave a charge that could not be recorded unhandled: by webhook, Telegram sends it again."""
    log.error("update %s: the charge is not recorded; not acknowledged", event.update.update_id)
    return UNHANDLED


async def blocked(event: ErrorEvent) -> bool:
    """Note a customer who blocked the bot: nothing can reach them, nothing to retry."""
    log.info("update %s: %s", event.update.update_id, event.exception)
    return True


async def failed(event: ErrorEvent, bot: Bot, conversations: Conversations) -> bool:
    """Log an unexpected failure and tell the customer, in their language, to try again."""
    update = event.update
    log.error(
        "update %s failed: %s",
        update.update_id,
        event.exception.__class__.__name__,
        exc_info=event.exception,
    )
    sender = update.message.from_user if update.message else None
    if update.callback_query is not None:
        sender = update.callback_query.from_user
    if sender is not None:
        lang = Language(await _locale(conversations, who_of(sender)))
        with suppress(TelegramAPIError):  # Telegram itself may be what failed
            await bot.send_message(sender.id, lang._(TRY_AGAIN))
    return True


async def _locale(conversations: Conversations, who: Who) -> str:
    """Return the customer's language, or their app's when even that cannot be read."""
    try:
        return await conversations.locale_of(who)
    except Exception:  # the failure may be the database itself
        return pick_locale(who.language_code)
