"""Two delivery workers on one PostgreSQL queue and one Redis send budget, against a fake Bot API.

Each worker is what `chatshop run` (or `chatshop worker`) builds: its own shop,
conversations and Telegram channel with its own pace, the pace counted in the
one Redis. Together they must keep to the one rate the shop is given, and to one
message a second to a chat, by the times Telegram (the fake) receives the sends;
and every message goes, once.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from bot.app import running_shop
from bot.delivery import DeliveryWorker
from bot.flows.engine import Conversations
from bot.handlers.telegram.channel import TelegramChannel
from bot.runner import open_channels
from bot.services import Shop
from bot.settings import Settings, TelegramSettings
from shop import outbox
from shop import tables as t
from shop.models import Channel
from shop.types import utcnow
from tests.conftest import REDIS_URL, _required
from tests.fake_telegram import Call, FakeBotAPI, fake_bot_api

RATE = 50  # messages a second, all chats together: faster than Telegram's 30, for a short test
HOT = 7  # messages queued at once to one chat
CHATS = 60
EACH = 4  # messages to each of the other chats
# Seconds by which the fake may receive sends closer together than they left: it shares
# this process's event loop with both workers, which leaves some sends late.
JITTER = 0.1


@dataclass
class Worker:
    shop: Shop
    conversations: Conversations
    channel: TelegramChannel

    def worker(self) -> DeliveryWorker:
        return DeliveryWorker(self.shop, self.conversations, {"telegram": self.channel})


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    # A bot of its own: the send budget in Redis is per bot, so no other test shares it.
    bot_id = random.randrange(10**8, 10**9)
    async with fake_bot_api(f"{bot_id}:pacing-test-token") as fake:
        yield fake
    redis = Redis.from_url(_required(REDIS_URL, "Redis", "CHATSHOP_TEST_REDIS_URL"))
    keys = [key async for key in redis.scan_iter(match=f"*telegram:{bot_id}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


@pytest.fixture
async def workers(postgres_url: str, api: FakeBotAPI) -> AsyncIterator[list[Worker]]:
    settings = Settings(
        database_url=postgres_url,
        redis_url=_required(REDIS_URL, "Redis", "CHATSHOP_TEST_REDIS_URL"),
        payments_secret=SecretStr("pacing-test"),
        telegram_send_rate=RATE,
        telegram=TelegramSettings(
            bot_token=SecretStr(api.token), api_url=api.url, bot_username="b"
        ),
    )
    async with AsyncExitStack() as stack:
        both = []
        for _ in range(2):  # composed as each `chatshop run` or `chatshop worker` composes it
            shop = await stack.enter_async_context(running_shop(settings))
            channels = await stack.enter_async_context(open_channels(shop))
            assert channels.telegram is not None
            both.append(Worker(shop, channels.conversations, channels.telegram))
        yield both


async def _queue(shop: Shop) -> dict[str, int]:
    """Queue messages: a burst to one chat, then a few to each of many; return text -> chat."""
    hot = 9_000_000
    chats = [hot + 1 + n for n in range(CHATS)]
    ids = {
        chat: (await shop.customers.touch(Channel.TELEGRAM, str(chat))).id for chat in [hot, *chats]
    }
    texts = {f"to {hot}, #{n}": hot for n in range(HOT)}
    texts.update({f"to {chat}, #{n}": chat for n in range(EACH) for chat in chats})
    now = utcnow()

    def work(conn: Connection) -> None:
        for text, chat in texts.items():
            outbox.to_customer(conn, ids[chat], outbox.Kind.STAFF_ANSWER, {"text": text}, now)

    await shop.db.write(work)
    return texts


async def _unsent(shop: Shop) -> int:
    def work(conn: Connection) -> int:
        o = t.outbound_message
        query = select(func.count()).where(o.c.status != outbox.Status.SENT)
        return int(conn.execute(query).scalar_one())

    return await shop.db.read(work)


def _most_in_a_second(times: list[float], jitter: float = 0.0) -> int:
    """Return the most of `times` within any one second (less `jitter`, the network's unevenness)."""
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - (1.0 - jitter):
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_two_workers_keep_to_one_rate_and_one_message_a_second_to_a_chat_and_send_each_once(
    workers: list[Worker], api: FakeBotAPI
) -> None:
    texts = await _queue(workers[0].shop)
    tasks = [asyncio.create_task(each.worker().run()) for each in workers]
    try:
        async with asyncio.timeout(60):
            while True:  # until the outbox says every message went
                if not await _unsent(workers[0].shop):
                    break
                await asyncio.sleep(0.1)  # the next look at an observable condition
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    sent: list[Call] = [c for c in api.of("sendMessage") if c.result is not None]
    said = [c["text"].split("\n")[-1] for c in sent]  # the staff's words under a heading
    assert Counter(said) == Counter(texts.keys())  # all, each once
    assert all(int(c["chat_id"]) == texts[text] for c, text in zip(sent, said, strict=True))
    by_chat: defaultdict[int, list[float]] = defaultdict(list)
    for call in sent:
        by_chat[int(call["chat_id"])].append(call.at)
    assert _most_in_a_second([c.at for c in sent], JITTER) <= RATE
    assert max(_most_in_a_second(times) for times in by_chat.values()) == 1
