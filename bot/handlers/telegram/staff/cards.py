"""An order's card: the order in words, with a button for each step staff may take it to next."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.handlers.telegram.render import NOT_MODIFIED, TEXT_LIMIT, clip
from bot.handlers.telegram.staff import words
from bot.handlers.telegram.staff.buttons import Move, OrderCard, OrderList
from bot.services import Shop
from shop.errors import NotFoundError
from shop.models import OrderStatus
from shop.orders import NEXT
from shop.views import OrderView

log = logging.getLogger(__name__)

ALERT_LIMIT = 200  # what answerCallbackQuery shows


def moves(status: str) -> list[OrderStatus]:
    """Return the steps staff may move an order in `status` to: the status machine's, but paid.

    Payment is confirmed by the payment provider, never set by hand.
    """
    return [to for to in NEXT[OrderStatus(status)] if to != OrderStatus.PAID]


def keyboard(order: OrderView) -> InlineKeyboardMarkup:
    """Return the card's buttons: each legal next step, then back to the list and refresh."""
    seen = OrderStatus(order.status)
    steps = [
        InlineKeyboardButton(
            text=words.MOVES[to], callback_data=Move(order=order.id, seen=seen, to=to).pack()
        )
        for to in moves(order.status)
    ]
    navigation = [
        InlineKeyboardButton(text=words.ALL_ORDERS, callback_data=OrderList().pack()),
        InlineKeyboardButton(text=words.REFRESH, callback_data=OrderCard(order=order.id).pack()),
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row for row in (steps, navigation) if row])


async def show_card(
    bot: Bot, shop: Shop, chat_id: int, order_id: int, *, message_id: int | None = None
) -> None:
    """Show an order's card as the order is now: in place of `message_id`, or as a new message."""
    details = await shop.orders.get(order_id)
    customer = await shop.customers.get(details.order.customer_id)
    text = words.card(details, customer, shop.orders.delivery)
    await show(bot, chat_id, text, keyboard(details.order), message_id=message_id)


async def answer_on_card(
    query: CallbackQuery,
    bot: Bot,
    shop: Shop,
    order_id: int,
    note: str | None = None,
    *,
    alert: bool = False,
) -> None:
    """Answer a press on a card (a toast, or with `alert` a box to dismiss) and redraw the card there."""
    await query.answer(clip(note, ALERT_LIMIT) if note else None, show_alert=alert)
    # Staff press buttons only in their private chat with the bot, whose id is theirs.
    await show_card(bot, shop, query.from_user.id, order_id, message_id=pressed_on(query))


async def as_shown(
    query: CallbackQuery, bot: Bot, shop: Shop, order_id: int, seen: OrderStatus
) -> OrderView | None:
    """Return the order if it is still as its card showed it; else say so and redraw the card."""
    try:
        order = (await shop.orders.get(order_id)).order
    except NotFoundError as error:
        await query.answer(words.refused(error), show_alert=True)
        return None
    if order.status != seen:
        note = words.moved_meanwhile(order.id, order.status)
        await answer_on_card(query, bot, shop, order.id, note, alert=True)
        return None
    return order


async def show(
    bot: Bot,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
    *,
    message_id: int | None = None,
) -> None:
    """Put `text` in place of `message_id`; send it anew when there is none or it cannot be edited."""
    text = clip(text, TEXT_LIMIT)
    if message_id is not None:
        try:
            await bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except TelegramBadRequest as error:
            if NOT_MODIFIED in error.message:
                return  # it already shows exactly this
            log.info("cannot edit staff message %s, sending anew: %s", message_id, error.message)
        else:
            return
    await bot.send_message(chat_id, text, reply_markup=markup)


def pressed_on(query: CallbackQuery) -> int | None:
    """Return the id of the message whose button was pressed, if there is one."""
    return query.message.message_id if query.message is not None else None
