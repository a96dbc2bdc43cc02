"""The Telegram channel: one aiogram router per feature, combined in one visible order."""

from __future__ import annotations

from aiogram import Dispatcher, Router

from bot.flows.engine import Conversations
from bot.handlers.telegram import buttons, commands, errors, inline, messages, payments, staff
from bot.handlers.telegram.callbacks import ButtonSigner
from bot.handlers.telegram.context import InOrder, WhoMiddleware
from bot.handlers.telegram.links import ShopLinks
from bot.handlers.telegram.outgoing import Outgoing
from bot.handlers.telegram.staff import TelegramStaffDesk
from bot.services import Shop


def routers() -> list[Router]:
    """Return fresh routers in the order updates try them."""
    return [
        # Staff only (its own filter), first: the customer routers take every command,
        # text and button, so a staff member's /admin, card buttons and replies would
        # never reach it later. Anyone else's update costs one set lookup here.
        staff.build_router(),
        buttons.build_router(),  # the most frequent update next: a pressed button
        commands.build_router(),
        payments.build_router(),  # successful_payment, shipping and pre-checkout queries
        messages.build_router(),  # contact, a posted inline result, then any text
        inline.build_router(),
        errors.build_router(),  # error handlers for all the others
    ]


def build_dispatcher(
    *,
    shop: Shop,
    conversations: Conversations,
    outgoing: Outgoing,
    buttons: ButtonSigner,
    links: ShopLinks,
    staff_desk: TelegramStaffDesk,
    in_order: InOrder | None = None,
) -> Dispatcher:
    """Return the dispatcher: our routers, with the services as every handler's workflow data."""
    dispatcher = Dispatcher(
        disable_fsm=True,  # conversation state lives in the flows' own store
        shop=shop,
        conversations=conversations,
        outgoing=outgoing,
        buttons=buttons,
        links=links,
        staff=staff_desk,
        staff_steps=staff.staff_steps(shop.db),
    )
    dispatcher.update.outer_middleware(in_order or InOrder())
    dispatcher.update.outer_middleware(WhoMiddleware())
    dispatcher.include_routers(*routers())
    return dispatcher
