"""Tickets answered by reply: a staff member's reply to a ticket's message answers the customer."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, Router
from aiogram.types import Message

from bot.handlers.telegram.staff import words
from bot.handlers.telegram.staff.access import actor
from bot.services import Shop
from shop.tickets import TicketAnsweredError, TicketView


def build_router() -> Router:
    """Return this feature's router: replies to the tickets the bot showed."""
    router = Router(name=__name__)
    router.message.register(answer, replying_to_ticket)
    return router


async def replying_to_ticket(message: Message, bot: Bot, shop: Shop) -> dict[str, Any] | bool:
    """Let through a text reply to one of the bot's messages that showed a ticket."""
    replied = message.reply_to_message
    if message.text is None or replied is None or replied.from_user is None:
        return False
    if replied.from_user.id != bot.id:
        return False
    # Found by where the ticket was shown, never read back from the words on it.
    ticket = await shop.tickets.shown_at(message.chat.id, replied.message_id)
    return {"ticket": ticket} if ticket is not None else False


async def answer(message: Message, ticket: TicketView, shop: Shop) -> None:
    """Record the staff member's reply as the ticket's answer, on its way to the customer."""
    assert message.text is not None
    assert message.from_user is not None
    try:
        answered = await shop.tickets.answer(
            ticket.id, by=actor(message.from_user.id), text=message.text
        )
    except TicketAnsweredError as error:
        await message.reply(words.already_answered(error.ticket))
        return
    await message.reply(words.answered(answered))
