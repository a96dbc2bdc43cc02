"""Staff on Telegram: tickets answered by reply, /admin, order cards and shipping questions.

One router per feature, combined in one visible order under a router whose
filters let in only ADMIN_TELEGRAM_IDS in their private chats with the bot: no
handler here is reachable by anyone else, and what anyone else sends goes on
to the customer routers as if this one were not there. Staff who shop are
customers like anyone for everything these handlers leave alone.
"""

from __future__ import annotations

from aiogram import Router

from bot.handlers.telegram.staff import orders, shipping, tickets
from bot.handlers.telegram.staff.access import from_staff, pressed_by_staff
from bot.handlers.telegram.staff.desk import TelegramStaffDesk
from bot.handlers.telegram.staff.steps import staff_steps

__all__ = ["TelegramStaffDesk", "build_router", "staff_steps"]


def build_router() -> Router:
    """Return the staff router: its features in the order updates try them, behind one filter."""
    router = Router(name=__name__)
    router.message.filter(from_staff)
    router.callback_query.filter(pressed_by_staff)
    router.include_routers(
        tickets.build_router(),  # a reply to a ticket, before anything reads the text
        shipping.build_router(),  # "Shipped" and its questions; a command leaves them
        orders.build_router(),  # /admin, the order list and the cards' other buttons
    )
    return router
