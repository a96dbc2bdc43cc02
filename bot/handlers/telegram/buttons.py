"""Button presses: signed callback data back into the flows; anything else gets a polite word."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.types import CallbackQuery, InaccessibleMessage

from bot.flows.engine import Conversations, Who
from bot.flows.types import Press
from bot.handlers.telegram.callbacks import ButtonSigner
from bot.handlers.telegram.outgoing import Outgoing
from bot.handlers.telegram.render import Origin
from shop.i18n import Language


def build_router() -> Router:
    """Return this feature's router: signed presses first, everything else refused."""
    router = Router(name=__name__)
    router.callback_query.register(pressed, signed)
    router.callback_query.register(refused)
    return router


async def signed(query: CallbackQuery, buttons: ButtonSigner) -> dict[str, Any] | bool:
    """Let a press through only if we signed its button for the customer pressing it."""
    # A coroutine on purpose: aiogram runs plain functions in a thread, costly per update.
    press = buttons.unpack(query.from_user.id, query.data)
    return {"press": press} if press is not None else False


async def pressed(
    query: CallbackQuery,
    press: Press,
    who: Who,
    conversations: Conversations,
    outgoing: Outgoing,
) -> None:
    """Pass a pressed button to the flows and show the answer in place of its message."""
    await query.answer()
    replies = await conversations.handle(who, press)
    message = query.message
    if message is None or isinstance(message, InaccessibleMessage):
        # A button on an inline-mode message or one too old to see: answer in our chat.
        outgoing.put(query.from_user.id, query.from_user.id, replies)
        return
    origin = Origin(message.chat.id, message.message_id, has_media=bool(message.photo))
    outgoing.put(message.chat.id, query.from_user.id, replies, origin=origin)


async def refused(query: CallbackQuery, who: Who, conversations: Conversations) -> None:
    """Answer a stale, forged or someone else's button politely, revealing nothing."""
    lang = Language(await conversations.locale_of(who))
    await query.answer(
        lang._("This button no longer works. Send /start to open the menu."), show_alert=True
    )
