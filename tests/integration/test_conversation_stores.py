"""Conversation state stores (database and Redis) and one customer's events one at a time across workers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.flows.engine import Conversations, Who
from bot.flows.store import ConversationStore, StaleStateError
from bot.flows.types import Command, ConversationState
from bot.handlers.telegram.staff import staff_steps
from bot.services import Shop
from bot.stores import DatabaseStore, LockTimings, RedisLock, RedisStore
from shop.models import Channel
from tests.conftest import REDIS_URL
from tests.flow_support import chat, stock_the_shop, texts_of


def _redis_store(prefix: str, *, poll_seconds: float = 1.0) -> RedisStore:
    assert REDIS_URL is not None
    timings = LockTimings(poll_seconds=poll_seconds)
    return RedisStore.from_url(REDIS_URL, prefix=prefix, timings=timings)


@pytest.fixture
async def redis_store(redis_prefix: str) -> AsyncIterator[RedisStore]:
    store = _redis_store(redis_prefix)
    yield store
    await store.close()


async def _customer_id(shop: Shop, external_id: str = "1") -> int:
    customer = await shop.customers.touch(Channel.TELEGRAM, external_id)
    assert customer.id is not None
    return customer.id


async def _saves_and_refuses_stale_writers(store: ConversationStore, customer_id: int) -> None:
    assert await store.load(customer_id) == ConversationState()
    first = await store.load(customer_id)
    second = await store.load(customer_id)
    first.step = "checkout.phone"
    first.data["checkout"] = {"only": [1, 2], "name": "Анна"}
    await store.save(customer_id, first)
    assert first.version == 1
    assert await store.load(customer_id) == first
    second.step = "search.query"
    with pytest.raises(StaleStateError):
        await store.save(customer_id, second)  # it never saw the first save
    assert await store.load(customer_id) == first
    first.step = ""
    await store.save(customer_id, first)
    assert (await store.load(customer_id)).version == 2


async def test_the_database_store_keeps_state_and_refuses_stale_writers(any_shop: Shop) -> None:
    await _saves_and_refuses_stale_writers(DatabaseStore(any_shop.db), await _customer_id(any_shop))


async def test_the_staff_store_keeps_state_by_telegram_id_and_refuses_stale_writers(
    any_shop: Shop,
) -> None:
    staff_id = 5_000_000_001  # Telegram ids outgrow 32 bits; no customer row behind it
    await _saves_and_refuses_stale_writers(staff_steps(any_shop.db), staff_id)
    other_worker = staff_steps(any_shop.db)
    assert (await other_worker.load(staff_id)).version == 2
    assert await DatabaseStore(any_shop.db).load(1) == ConversationState()  # apart from customers'


async def test_a_database_store_refused_for_a_stale_save_reads_the_newer_state(
    any_shop: Shop,
) -> None:
    customer_id = await _customer_id(any_shop)
    mine, other = DatabaseStore(any_shop.db), DatabaseStore(any_shop.db)  # two processes
    kept = await mine.load(customer_id)
    theirs = await other.load(customer_id)
    theirs.step = "checkout.phone"
    await other.save(customer_id, theirs)

    kept.step = "search.query"
    with pytest.raises(StaleStateError):
        await mine.save(customer_id, kept)
    assert await mine.load(customer_id) == theirs
    assert await DatabaseStore(any_shop.db).load(customer_id) == theirs  # after a restart


async def test_the_redis_store_keeps_state_and_refuses_stale_writers(
    shop: Shop, redis_store: RedisStore
) -> None:
    await _saves_and_refuses_stale_writers(redis_store, await _customer_id(shop))


async def test_with_redis_a_restart_mid_checkout_continues_the_same_step(
    shop: Shop, redis_prefix: str
) -> None:
    await stock_the_shop(shop)
    before = _redis_store(redis_prefix)
    ann = chat(shop, Conversations(shop, before))
    await ann.command("start", "p-TEA-2")
    await ann.tap("Add to cart")
    await ann.command("cart")
    await ann.tap("Checkout")
    await ann.say("+1 555 0100 000")
    await before.close()  # the worker stops
    after = _redis_store(redis_prefix)
    resumed = chat(shop, Conversations(shop, after))
    await resumed.say("Ann")
    assert "How should we deliver your order?" in resumed.text
    await after.close()


async def test_two_workers_sharing_redis_handle_one_customer_s_events_one_at_a_time(
    shop: Shop, redis_prefix: str
) -> None:
    """Every event changes the state (a scan from another poster); none is lost to a race."""
    await stock_the_shop(shop)
    stores = [_redis_store(redis_prefix), _redis_store(redis_prefix)]
    workers = [Conversations(shop, store) for store in stores]
    who = Who(Channel.TELEGRAM, "1001", "Ann", "en")
    events = 24
    answers = await asyncio.gather(
        *(
            workers[n % 2].handle(who, Command("start", f"p-TEA-2_s-poster{n}"))
            for n in range(events)
        )
    )
    assert all("Black tea" in texts_of(replies) for replies in answers)
    customer_id = await _customer_id(shop, "1001")
    state = await stores[0].load(customer_id)
    assert state.version == events  # each event saw the one before it: no update lost
    for store in stores:
        await store.close()


async def test_the_redis_lock_serves_waiters_in_the_order_they_queued(redis_prefix: str) -> None:
    stores = [_redis_store(redis_prefix), _redis_store(redis_prefix)]
    holder = stores[0].lock("telegram:1")
    await holder.acquire()
    served: list[int] = []

    async def wait_in_turn(number: int, lock: RedisLock) -> None:
        async with lock:
            served.append(number)

    tasks = []
    for number in range(6):
        lock = stores[number % 2].lock("telegram:1")
        tasks.append(asyncio.create_task(wait_in_turn(number, lock)))
        await lock.queued.wait()  # in the queue before the next one asks
    assert served == []
    await holder.release()
    await asyncio.gather(*tasks)
    assert served == [0, 1, 2, 3, 4, 5]
    for store in stores:
        await store.close()


async def test_a_lock_left_by_a_dead_worker_is_taken_over_after_its_lease(
    redis_prefix: str,
) -> None:
    store = _redis_store(redis_prefix, poll_seconds=0.05)
    assert REDIS_URL is not None
    raw = Redis.from_url(REDIS_URL)
    # A worker took the lock with a 300 ms lease, and a waiter queued behind it, then both died.
    await raw.set(store.key("lock", "telegram:1"), "dead-holder", px=300)
    await raw.rpush(store.key("queue", "telegram:1"), "dead-waiter")
    await raw.zadd(store.key("waiting", "telegram:1"), {"dead-waiter": 0})
    started = time.monotonic()
    async with store.lock("telegram:1"):
        waited = time.monotonic() - started
    assert 0.1 < waited < 5
    assert await raw.get(store.key("lock", "telegram:1")) is None  # released, and by compare
    await raw.aclose()
    await store.close()


async def test_only_the_holder_releases_its_lock(redis_prefix: str) -> None:
    store = _redis_store(redis_prefix)
    mine = store.lock("telegram:1")
    await mine.acquire()
    impostor = store.lock("telegram:1")
    await impostor.release()  # never acquired: its token is not the holder's
    assert REDIS_URL is not None
    raw = Redis.from_url(REDIS_URL)
    assert await raw.get(store.key("lock", "telegram:1")) == mine.token.encode()
    await mine.release()
    assert await raw.get(store.key("lock", "telegram:1")) is None
    await raw.aclose()
    await store.close()
