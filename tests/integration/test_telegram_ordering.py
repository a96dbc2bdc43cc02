"""One customer's messages and presses are handled one at a time, in order; payments never wait."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message, PreCheckoutQuery

from bot.handlers.telegram.context import InOrder
from tests.telegram_support import TOKEN, RecordingSession, message_json, update, user_json


def dispatcher(log: list[str], gate: asyncio.Event, in_order: InOrder) -> Dispatcher:
    router = Router(name="probe")

    @router.message()
    async def on_message(message: Message) -> None:
        log.append(f"start {message.text}")
        if message.text == "slow":
            await gate.wait()
        log.append(f"end {message.text}")

    @router.pre_checkout_query()
    async def on_pre_checkout(query: PreCheckoutQuery) -> None:
        log.append("pre-checkout")

    dp = Dispatcher(disable_fsm=True)
    dp.update.outer_middleware(in_order)
    dp.include_router(router)
    return dp


async def test_a_customers_updates_wait_their_turn_but_payments_and_others_do_not() -> None:
    bot = Bot(TOKEN, session=RecordingSession())
    log: list[str] = []
    gate = asyncio.Event()
    in_order = InOrder()
    dp = dispatcher(log, gate, in_order)

    def feed(**event: Any) -> asyncio.Task[Any]:
        return asyncio.create_task(dp.feed_update(bot, update(bot, **event)))

    slow = feed(message=message_json(text="slow"))
    after = feed(message=message_json(text="after"))
    other = feed(message=message_json(chat_id=2002, text="other"))
    paying = feed(
        pre_checkout_query={
            "id": "q",
            "from": user_json(),
            "currency": "USD",
            "total_amount": 1,
            "invoice_payload": "p",
        }
    )
    await asyncio.gather(other, paying)
    assert log == ["start slow", "start other", "end other", "pre-checkout"]
    drained = asyncio.create_task(in_order.drained())
    await asyncio.sleep(0)
    assert not drained.done()  # "slow" and "after" are still in hand

    gate.set()
    await asyncio.gather(slow, after, drained)
    assert log[4:] == ["end slow", "start after", "end after"]
