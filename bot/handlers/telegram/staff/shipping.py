"""Shipping an order: "Shipped" asks for the carrier, then the tracking number, then ships it.

The conversation's state lives in the staff store (`steps`), so a restart or
another worker picks it up where it was. Any command leaves it: /cancel says
so, any other goes on to its own handler (/admin shows the orders). The
diagram is beside it (shipping.mmd).
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.flows.store import ConversationStore
from bot.flows.types import ConversationState
from bot.handlers.telegram.commands import ANY_COMMAND
from bot.handlers.telegram.staff import words
from bot.handlers.telegram.staff.access import actor
from bot.handlers.telegram.staff.buttons import Move, Shipping, Skip
from bot.handlers.telegram.staff.cards import as_shown, pressed_on, show_card
from bot.services import Shop
from shop.errors import ShopError
from shop.models import OrderStatus
from shop.plaintext import clean

CARRIER = "ship.carrier"  # data: order, card (the card's message id)
TRACKING = "ship.tracking"  # data: order, card, carrier
WIDTH = 64  # a carrier's name or a tracking number; anything longer is a slip
_SKIPS = {Skip.NO_CARRIER: CARRIER, Skip.NO_TRACKING: TRACKING}  # the question each one answers


def build_router() -> Router:
    """Return this feature's router: the shipping questions, their answers, and leaving them."""
    router = Router(name=__name__)
    router.callback_query.register(start, Move.filter(F.to == OrderStatus.SHIPPED))
    router.callback_query.register(skipped, Shipping.filter())
    router.message.register(leave, Command(ANY_COMMAND), asked)
    # A command `leave` passes on has ended the questions already, so this never takes it.
    router.message.register(answered, asked)
    return router


async def asked(message: Message, staff_steps: ConversationStore) -> dict[str, Any] | bool:
    """Let through a staff member's text while a shipping question waits for them."""
    if message.text is None or message.from_user is None:
        return False
    state = await staff_steps.load(message.from_user.id)
    return {"state": state} if state.step in (CARRIER, TRACKING) else False


async def start(
    query: CallbackQuery, callback_data: Move, bot: Bot, shop: Shop, staff_steps: ConversationStore
) -> None:
    """Ask for the carrier of an order to ship (if its card is still as it is)."""
    order = await as_shown(query, bot, shop, callback_data.order, callback_data.seen)
    if order is None:
        return
    await query.answer()
    state = await staff_steps.load(query.from_user.id)
    state.step, state.data = CARRIER, {"order": order.id, "card": pressed_on(query)}
    await staff_steps.save(query.from_user.id, state)
    await bot.send_message(
        query.from_user.id,
        words.ask_carrier(order.id),
        reply_markup=_choices(order.id, (words.NO_CARRIER, Skip.NO_CARRIER)),
    )


async def answered(
    message: Message, state: ConversationState, bot: Bot, shop: Shop, staff_steps: ConversationStore
) -> None:
    """Take typed text as the carrier, or as the tracking number (which ships the order)."""
    assert message.text is not None
    assert message.from_user is not None
    text = clean(message.text).strip()[:WIDTH] or None
    await _next(message.from_user.id, state, text, bot, shop, staff_steps)


async def skipped(
    query: CallbackQuery,
    callback_data: Shipping,
    bot: Bot,
    shop: Shop,
    staff_steps: ConversationStore,
) -> None:
    """Go on without a carrier or a tracking number, or leave, as the pressed button says."""
    staff_id = query.from_user.id
    state = await staff_steps.load(staff_id)
    asking = state.step in (CARRIER, TRACKING) and state.data.get("order") == callback_data.order
    if not asking or _SKIPS.get(callback_data.skip, state.step) != state.step:
        await query.answer(words.QUESTION_CLOSED, show_alert=True)  # answered or left already
        return
    await query.answer()
    if callback_data.skip == Skip.LEAVE:
        await _forget(staff_id, state, staff_steps)
        await bot.send_message(staff_id, words.not_shipped(callback_data.order))
        return
    await _next(staff_id, state, None, bot, shop, staff_steps)


async def leave(
    message: Message,
    command: CommandObject,
    state: ConversationState,
    staff_steps: ConversationStore,
) -> None:
    """Leave the shipping questions on any command: /cancel says so, others go on to their handlers."""
    assert message.from_user is not None
    order_id = int(state.data["order"])
    await _forget(message.from_user.id, state, staff_steps)
    if command.command.lower() != "cancel":
        raise SkipHandler  # /admin and the rest are answered as ever
    await message.answer(words.not_shipped(order_id))


async def _next(
    staff_id: int,
    state: ConversationState,
    answer: str | None,
    bot: Bot,
    shop: Shop,
    staff_steps: ConversationStore,
) -> None:
    """Take the answer to the question asked: the carrier, then ask the tracking number; or ship."""
    order_id = int(state.data["order"])
    if state.step == CARRIER:
        state.step = TRACKING
        state.data["carrier"] = answer
        await staff_steps.save(staff_id, state)
        await bot.send_message(
            staff_id,
            words.ask_tracking(order_id, answer),
            reply_markup=_choices(order_id, (words.NO_TRACKING, Skip.NO_TRACKING)),
        )
        return
    carrier, card = state.data.get("carrier"), state.data.get("card")
    await _forget(staff_id, state, staff_steps)
    try:
        await shop.orders.transition(
            order_id,
            OrderStatus.SHIPPED,
            actor=actor(staff_id),
            carrier=carrier,
            tracking_number=answer,
        )
    except ShopError as error:  # it moved meanwhile: refunded, shipped by someone else, ...
        await bot.send_message(staff_id, words.refused(error))
    else:
        await bot.send_message(staff_id, words.shipped(order_id, carrier, answer))
    await show_card(bot, shop, staff_id, order_id, message_id=card)


async def _forget(staff_id: int, state: ConversationState, staff_steps: ConversationStore) -> None:
    """End the conversation: nothing is asked any more."""
    state.step, state.data = "", {}
    await staff_steps.save(staff_id, state)


def _choices(order_id: int, instead: tuple[str, Skip]) -> InlineKeyboardMarkup:
    """Return the buttons under a question: an answer without typing, and leaving."""
    label, skip = instead
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=label, callback_data=Shipping(order=order_id, skip=skip).pack()
                ),
                InlineKeyboardButton(
                    text=words.LEAVE, callback_data=Shipping(order=order_id, skip=Skip.LEAVE).pack()
                ),
            ]
        ]
    )
