"""/admin and order cards: recent orders, and each order moved on with its card's buttons.

Every press first compares the status the card showed with the order's status
now: an order moved meanwhile (by another staff member, the command line, the
customer or a payment) is answered with what it is now, and the card redrawn.
The move itself is the status machine's to allow (`shop.orders`); refunds go
through the payment rules (`payments.settlement`), which give the money back.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.handlers.telegram.staff import words
from bot.handlers.telegram.staff.access import actor
from bot.handlers.telegram.staff.buttons import Move, OrderCard, OrderList, Refund
from bot.handlers.telegram.staff.cards import (
    answer_on_card,
    as_shown,
    pressed_on,
    show,
    show_card,
)
from bot.services import Shop
from shop.errors import NotFoundError, ShopError
from shop.models import OrderStatus
from shop.orders import OrderService
from shop.views import OrderView

S = OrderStatus
LISTED = 10
# What staff have to do comes first, in the order the work goes; then the customer's turn.
FIRST = (S.PAID, S.PACKED, S.SHIPPED, S.PENDING_PAYMENT)


def build_router() -> Router:
    """Return this feature's router: /admin, and the buttons of the list and the cards."""
    router = Router(name=__name__)
    router.message.register(admin, Command("admin"))
    router.callback_query.register(list_orders, OrderList.filter())
    router.callback_query.register(open_card, OrderCard.filter())
    router.callback_query.register(move, Move.filter())
    router.callback_query.register(refund, Refund.filter())
    return router


async def admin(message: Message, command: CommandObject, bot: Bot, shop: Shop) -> None:
    """Show the recent orders, or with a number (/admin 42) that order's card."""
    number = (command.args or "").strip().removeprefix("#")
    if number.isdigit():
        try:
            await show_card(bot, shop, message.chat.id, int(number))
        except NotFoundError as error:
            await message.answer(words.refused(error))
        return
    text, markup = await _order_list(shop.orders)
    await show(bot, message.chat.id, text, markup)


async def list_orders(query: CallbackQuery, bot: Bot, shop: Shop) -> None:
    """Show the recent orders in place of the card."""
    await query.answer()
    text, markup = await _order_list(shop.orders)
    await show(bot, query.from_user.id, text, markup, message_id=pressed_on(query))


async def open_card(query: CallbackQuery, callback_data: OrderCard, bot: Bot, shop: Shop) -> None:
    """Show an order's card as the order is now, in place of the pressed message."""
    await answer_on_card(query, bot, shop, callback_data.order)


async def move(query: CallbackQuery, callback_data: Move, bot: Bot, shop: Shop) -> None:
    """Move an order on: packed, delivered and cancel at once; a refund asks first.

    Shipped asks for the carrier and tracking number first (see `shipping`).
    """
    order = await as_shown(query, bot, shop, callback_data.order, callback_data.seen)
    if order is None:
        return
    if callback_data.to == S.REFUNDED:
        await query.answer()
        yes = Refund(order=order.id, seen=callback_data.seen).pack()
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text=words.YES_REFUND, callback_data=yes),
                    InlineKeyboardButton(
                        text=words.NO, callback_data=OrderCard(order=order.id).pack()
                    ),
                ]
            ]
        )
        text = words.refund_question(order)
        await show(bot, query.from_user.id, text, markup, message_id=pressed_on(query))
        return
    try:
        await shop.orders.transition(
            order.id,
            callback_data.to,
            actor=actor(query.from_user.id),
            expected=callback_data.seen,  # what the card showed, checked under the order's lock
        )
    except ShopError as error:  # it moved in the instant between: the rules say why not
        await answer_on_card(query, bot, shop, order.id, words.refused(error), alert=True)
        return
    await answer_on_card(query, bot, shop, order.id, words.moved(order.id, callback_data.to))


async def refund(query: CallbackQuery, callback_data: Refund, bot: Bot, shop: Shop) -> None:
    """Give a paid order's money back at its provider, once "Yes, refund" is pressed."""
    order = await as_shown(query, bot, shop, callback_data.order, callback_data.seen)
    if order is None:
        return
    # The provider may take seconds to answer, longer than a button's spinner should spin.
    await query.answer()
    try:
        payment = await shop.payments.settlement.refund(order.id, actor=actor(query.from_user.id))
    except ShopError as error:  # not paid, refunded already, no payment, the provider said no
        await bot.send_message(query.from_user.id, words.refused(error))
    else:
        await bot.send_message(query.from_user.id, words.refunded(order.id, payment))
    await show_card(bot, shop, query.from_user.id, order.id, message_id=pressed_on(query))


async def _order_list(orders: OrderService) -> tuple[str, InlineKeyboardMarkup | None]:
    """Return the /admin list: its words and a button opening each order's card."""
    listed = await recent_orders(orders)
    if not listed:
        return words.NO_ORDERS, None
    rows = [
        [
            InlineKeyboardButton(
                text=words.order_button(o), callback_data=OrderCard(order=o.id).pack()
            )
        ]
        for o in listed
    ]
    return words.RECENT_ORDERS, InlineKeyboardMarkup(inline_keyboard=rows)


async def recent_orders(orders: OrderService) -> list[OrderView]:
    """Return the orders /admin lists: paid, packed, shipped, waiting; then the latest of the rest.

    Newest first within each status; at most `LISTED` in all.
    """
    listed: list[OrderView] = []
    for status in FIRST:
        listed += await orders.list_orders(status=status, limit=LISTED - len(listed))
        if len(listed) == LISTED:
            return listed
    shown = {order.id for order in listed}
    rest = [order for order in await orders.list_orders(limit=LISTED) if order.id not in shown]
    return listed + rest[: LISTED - len(listed)]
