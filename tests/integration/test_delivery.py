"""The delivery worker against a fake Bot API on loopback: flood control, a blocked bot, a worker that died.

The shop's own Telegram channel (composed as `chatshop run` does, aiogram's HTTP session) sends
what the outbox holds to a fake Bot API that answers as Telegram does, errors and all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from bot.app import running_shop
from bot.delivery import LEASE, DeliveryWorker
from bot.flows.engine import Conversations
from bot.handlers.telegram.channel import TelegramChannel
from bot.runner import open_channels
from bot.services import Shop
from bot.settings import Settings, TelegramSettings
from shop import outbox
from shop import tables as t
from shop.models import Channel
from shop.outbox import STAFF
from tests.broadcast_support import queue_broadcast
from tests.conftest import FakeClock
from tests.fake_telegram import Call, FakeBotAPI, fake_bot_api
from tests.payment_support import PAYMENTS_SECRET, pending_order

CHAT = 4242


@dataclass
class World:
    shop: Shop
    conversations: Conversations
    channel: TelegramChannel
    api: FakeBotAPI
    clock: FakeClock

    def worker(self) -> DeliveryWorker:
        """A delivery worker, as `chatshop run` or `chatshop worker` runs one."""
        return DeliveryWorker(self.shop, self.conversations, {"telegram": self.channel})

    def sent(self) -> list[Call]:
        """The messages Telegram took (refused calls have no result)."""
        return [c for c in self.api.of("sendMessage") if c.result is not None]

    async def status(self) -> dict[str, int]:
        """How the customer's messages stand (the staff alert for the paid order aside)."""

        def work(conn: Connection) -> dict[str, int]:
            o = t.outbound_message
            rows = conn.execute(
                select(o.c.status, func.count())
                .where(o.c.channel == "telegram")
                .group_by(o.c.status)
            )
            return {str(status): int(count) for status, count in rows}

        return await self.shop.db.read(work)


@pytest.fixture
async def world(sqlite_url: str, clock: FakeClock) -> AsyncIterator[World]:
    async with _world(sqlite_url, clock) as built:
        yield built


@asynccontextmanager
async def _world(sqlite_url: str, clock: FakeClock, *, rate: int = 30) -> AsyncIterator[World]:
    async with fake_bot_api() as api:
        settings = Settings(
            database_url=sqlite_url,
            payments_secret=PAYMENTS_SECRET,
            telegram_send_rate=rate,
            telegram=TelegramSettings(bot_token=api.token, api_url=api.url, bot_username="b"),
        )
        async with running_shop(settings, clock=clock) as shop, open_channels(shop) as channels:
            assert channels.telegram is not None
            yield World(shop, channels.conversations, channels.telegram, api, clock)


async def _paid(world: World) -> int:
    """An order paid by a Telegram customer: its "paid" message is queued."""
    order = await pending_order(world.shop, customer=str(CHAT))
    await world.shop.orders.confirm_payment(order.id)
    return order.id


async def test_flood_control_is_waited_out_and_the_message_goes_once(world: World) -> None:
    order_id = await _paid(world)
    world.api.refuse("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    await world.worker().drain()

    refused, taken = world.api.of("sendMessage")
    assert refused.result is None
    assert f"Order #{order_id} is paid" in taken["text"]
    assert [int(c["chat_id"]) for c in world.sent()] == [CHAT]
    assert await world.status() == {"sent": 1}


async def test_a_long_flood_ban_puts_the_message_back_for_then_and_it_goes_once(
    world: World,
) -> None:
    await _paid(world)
    world.api.refuse("sendMessage", 429, "Too Many Requests: retry after 90", retry_after=90)
    worker = world.worker()

    await worker.drain()
    assert await world.status() == {"pending": 1}
    world.clock.advance(seconds=60)
    assert await worker.drain() == 0  # not before the time Telegram asked for
    world.clock.advance(seconds=31)
    assert await worker.drain() == 1

    assert len(world.sent()) == 1
    assert await world.status() == {"sent": 1}


async def test_a_customer_who_blocked_the_bot_is_recorded_unreachable_until_they_write(
    world: World,
) -> None:
    await _paid(world)
    world.api.refuse("sendMessage", 403, "Forbidden: bot was blocked by the user")

    await world.worker().drain()

    assert world.sent() == []
    assert await world.status() == {"failed": 1}
    customer = await world.shop.customers.find(Channel.TELEGRAM, str(CHAT))
    assert customer is not None
    assert customer.unreachable_at == world.clock.now
    await world.worker().drain()
    assert len(world.api.of("sendMessage")) == 1  # failed for good: never tried again

    world.clock.advance(minutes=5)
    back = await world.shop.customers.touch(Channel.TELEGRAM, str(CHAT))  # they write again
    assert back.unreachable_at is None


async def test_a_worker_that_died_holding_a_message_leaves_it_to_another_after_its_lease(
    world: World,
) -> None:
    await _paid(world)
    # A worker claims the message, then dies before sending it: its lease stands.
    held = await world.shop.outbox.claim(["telegram", STAFF], limit=10, lease=LEASE)
    assert [m.channel for m in held] == ["telegram", STAFF]
    other = world.worker()

    assert await other.drain() == 0
    world.clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await other.drain() == 2

    assert len(world.sent()) == 1
    assert await world.status() == {"sent": 1}


async def test_a_message_due_in_an_hour_goes_then_and_not_before(world: World) -> None:
    buyer = await world.shop.customers.touch(Channel.TELEGRAM, str(CHAT), display_name="Ann")
    assert buyer.id is not None
    customer_id = buyer.id
    now = world.clock.now
    payload = {"text": "Your cart still holds the tea."}

    def schedule(conn: Connection) -> None:
        outbox.to_customer(
            conn, customer_id, outbox.Kind.STAFF_ANSWER, payload, now, due=now + timedelta(hours=1)
        )

    await world.shop.db.write(schedule)
    worker = world.worker()

    assert await worker.drain() == 0
    world.clock.advance(minutes=59)
    assert await worker.drain() == 0
    world.clock.advance(minutes=1)
    assert await worker.drain() == 1

    [sent] = world.sent()
    assert "Your cart still holds the tea." in sent["text"]
    assert await world.status() == {"sent": 1}


async def test_a_send_refused_for_flooding_waits_a_turn_of_the_budget_before_it_goes_again(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with _world(sqlite_url, clock, rate=2) as world:
        chats = [CHAT + n for n in range(4)]
        ids = [(await world.shop.customers.touch(Channel.TELEGRAM, str(c))).id for c in chats]

        def work(conn: Connection) -> None:
            for n, customer in enumerate(ids):
                payload = {"text": f"note {n}"}
                outbox.to_customer(conn, customer, outbox.Kind.STAFF_ANSWER, payload, clock.now)

        await world.shop.db.write(work)
        world.api.refuse("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

        await world.worker().drain()

        arrived = sorted(c.at for c in world.sent())
        assert len(arrived) == 4
        # The retry took a turn of the budget: never 3 in a second, at a rate of 2.
        assert all(
            later - earlier >= 1.0 for earlier, later in zip(arrived, arrived[2:], strict=False)
        )
        assert await world.status() == {"sent": 4}


async def test_a_broadcast_goes_once_to_each_reachable_customer_after_news_of_their_orders(
    world: World,
) -> None:
    chats = [CHAT + n for n in range(1, 4)]
    for c in chats:
        customer = await world.shop.customers.touch(Channel.TELEGRAM, str(c))
        await world.shop.customers.set_marketing_consent(customer.id, True)
    world.api.refuse("sendMessage", 403, "Forbidden: bot was blocked by the user")
    order = await pending_order(world.shop, customer=str(chats[-1]))
    await world.shop.orders.confirm_payment(order.id)
    await world.worker().drain()  # the last one's "paid" message finds the bot blocked

    assert (await queue_broadcast(world.shop, "Spring sale: 20% off")).total == 2
    order_id = await _paid(world)  # queued after the broadcast, sent before it
    await world.worker().drain()

    first, *rest = [(int(c["chat_id"]), c["text"]) for c in world.sent()]
    assert first[0] == CHAT
    assert f"Order #{order_id} is paid" in first[1]
    assert sorted(rest) == [(chat, "Spring sale: 20% off") for chat in chats[:2]]
    await world.worker().drain()
    assert len(world.sent()) == 3  # each once
