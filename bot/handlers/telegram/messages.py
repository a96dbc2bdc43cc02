"""Messages: typed text, a shared phone number, and a product chosen from inline results."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message

from bot.flows import types as flow
from bot.flows.engine import Conversations, Who
from bot.handlers.telegram.filters import in_private, sent_via_us, with_contact, with_text
from bot.handlers.telegram.links import start_payload
from bot.handlers.telegram.outgoing import Outgoing
from shop.i18n import Language


def build_router() -> Router:
    """Return this feature's router: messages in private chats."""
    router = Router(name=__name__)
    router.message.filter(in_private)
    router.message.register(contact, with_contact)
    router.message.register(chosen_result, sent_via_us)
    router.message.register(typed, with_text)
    return router


async def contact(
    message: Message, who: Who, conversations: Conversations, outgoing: Outgoing
) -> None:
    """Pass the customer's own phone number, shared with Telegram's button, to the flows."""
    shared = message.contact
    assert shared is not None
    sender = message.from_user
    if sender is None or shared.user_id != sender.id:  # someone else's card, forwarded
        lang = Language(await conversations.locale_of(who))
        await message.answer(lang._("Please share your own number with the button below."))
        return
    name = " ".join(part for part in (shared.first_name, shared.last_name) if part)
    replies = await conversations.handle(who, flow.SharedContact(shared.phone_number, name))
    outgoing.put(message.chat.id, message.chat.id, replies, remove_keyboard=True)


async def chosen_result(
    message: Message, who: Who, conversations: Conversations, outgoing: Outgoing
) -> None:
    """Open the card of a product the customer picked from inline results in our chat."""
    payload = start_payload(message.reply_markup)
    replies = await conversations.handle(who, flow.Command("start", payload or ""))
    outgoing.put(message.chat.id, message.chat.id, replies)


async def typed(
    message: Message, who: Who, conversations: Conversations, outgoing: Outgoing
) -> None:
    """Pass what the customer typed (a search, an answer to a checkout question) to the flows."""
    assert message.text is not None
    replies = await conversations.handle(who, flow.Message(message.text))
    outgoing.put(message.chat.id, message.chat.id, replies)
