"""Message filters as coroutines.

aiogram runs a filter that is a plain function (a magic `F` filter included) in a
worker thread, a thread hop per filter per update; these coroutines run inline.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.types import Message


async def in_private(message: Message) -> bool:
    """Tell whether the message is in a one-to-one chat with the bot."""
    return message.chat.type == ChatType.PRIVATE


async def with_text(message: Message) -> bool:
    """Tell whether the message has text."""
    return message.text is not None


async def with_contact(message: Message) -> bool:
    """Tell whether the message shares a contact."""
    return message.contact is not None


async def with_payment(message: Message) -> bool:
    """Tell whether the message reports a successful payment."""
    return message.successful_payment is not None


async def sent_via_us(message: Message, bot: Bot) -> bool:
    """Tell whether the customer posted one of our inline results."""
    return message.via_bot is not None and message.via_bot.id == bot.id
