"""Who is staff: the ADMIN_TELEGRAM_IDS, in their private chat with the bot, and how their acts are signed.

These are the staff router's own filters (router-level): an update that fails
them passes on to the customer routers as if the staff router were not there.
"""

from __future__ import annotations

from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message

from bot.handlers.telegram.staff.desk import TelegramStaffDesk


async def from_staff(message: Message, staff: TelegramStaffDesk) -> bool:
    """Let through a message a staff member sends in their private chat with the bot."""
    # Never in a group: a staff member's /admin there would show the orders to everyone in it.
    sender = message.from_user
    private = message.chat.type == ChatType.PRIVATE
    return private and sender is not None and sender.id in staff.staff_ids


async def pressed_by_staff(query: CallbackQuery, staff: TelegramStaffDesk) -> bool:
    """Let through a button a staff member presses on a message in their private chat with the bot."""
    message = query.message
    private = message is not None and message.chat.type == ChatType.PRIVATE
    return private and query.from_user.id in staff.staff_ids


def actor(user_id: int) -> str:
    """Return how a staff member's act is signed in an order's timeline or on a ticket."""
    return f"staff:tg:{user_id}"
