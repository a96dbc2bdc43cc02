"""One send budget per bot, the most urgent first: replies, then pushes, then broadcasts.

In one process by the order of its line; across processes (two paces on one
Redis, as two workers have) by the mark a waiting reply leaves, which makes the
other process's broadcast give way. Groups have a limit a minute of their own.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.pace import Pace
from shop.outbox import Urgency
from tests.conftest import REDIS_URL, _required

RATE = 40  # sends a second in all: a short test


def memory_pace(*, per_group: int = 20) -> Pace:
    return Pace("telegram:1", overall=RATE, per_chat=RATE, per_group=per_group, redis_url=None)


async def spend(pace: Pace, sends: int) -> None:
    """Take `sends` turns of the budget, each to a chat of its own."""
    for n in range(sends):
        await pace.turn(f"{900_000 + n}")


async def test_when_the_budget_is_spent_replies_go_first_then_pushes_then_broadcasts() -> None:
    pace = memory_pace()
    await spend(pace, RATE)  # the second's budget is gone: everyone below waits for it
    granted: list[str] = []

    async def send(name: str, urgency: Urgency) -> None:
        await pace.turn(name, urgency)
        granted.append(name)

    waiting = [
        *(send(f"broadcast {n}", Urgency.BROADCAST) for n in range(3)),
        *(send(f"push {n}", Urgency.PUSH) for n in range(3)),
        *(send(f"reply {n}", Urgency.REPLY) for n in range(3)),
    ]
    await asyncio.gather(*waiting)  # asked in this order: broadcasts first

    assert granted == [
        *(f"reply {n}" for n in range(3)),
        *(f"push {n}" for n in range(3)),
        *(f"broadcast {n}" for n in range(3)),
    ]


async def test_a_group_gets_its_few_messages_a_minute_while_private_chats_go_on() -> None:
    pace = memory_pace(per_group=2)
    group = "-1001234567890"
    await pace.turn(group)
    await pace.turn(group)

    third = asyncio.create_task(pace.turn(group))
    await pace.turn("42")  # a private chat is not held up by the group
    await pace.turn("43")
    assert not third.done()  # the group's minute is spent

    third.cancel()  # a sender given up on leaves the line in order
    await asyncio.gather(third, return_exceptions=True)
    await pace.turn("44")


@pytest.fixture
async def shared() -> AsyncIterator[tuple[Pace, Pace]]:
    """Two paces of one bot on one Redis: two worker processes' views of one budget."""
    url = _required(REDIS_URL, "Redis", "CHATSHOP_TEST_REDIS_URL")
    name = f"telegram:{random.randrange(10**8, 10**9)}"  # a bot of its own: no test shares it
    paces = [Pace(name, overall=RATE, per_chat=RATE, per_group=20, redis_url=url) for _ in range(2)]
    yield paces[0], paces[1]
    for pace in paces:
        await pace.close()
    redis = Redis.from_url(url)
    keys = [key async for key in redis.scan_iter(match=f"*{name}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def test_a_broadcast_in_another_worker_gives_way_to_waiting_replies(
    shared: tuple[Pace, Pace],
) -> None:
    broadcaster, replier = shared
    timeline: list[str] = []
    under_way = asyncio.Event()

    async def broadcast() -> None:
        for n in range(10 * RATE):  # far more than the replies will wait for
            await broadcaster.turn(f"{700_000 + n}", Urgency.BROADCAST)
            timeline.append("broadcast")
            if n == RATE:  # the budget has been the broadcast's for a second
                under_way.set()

    async def reply(n: int) -> None:
        await replier.turn(f"{800_000 + n}", Urgency.REPLY)
        timeline.append("reply")

    sending = asyncio.create_task(broadcast())
    await under_way.wait()
    await asyncio.gather(*(reply(n) for n in range(2 * RATE)))  # two seconds' worth at once
    sending.cancel()
    await asyncio.gather(sending, return_exceptions=True)

    first = timeline.index("reply")
    last = len(timeline) - 1 - timeline[::-1].index("reply")
    meanwhile = timeline[first:last].count("broadcast")
    # Sharing the budget, the broadcast would take every other send while replies wait:
    # about 2 * RATE of them. Giving way, it takes only the few that found room before
    # the first reply had to wait (and left its mark), or that it had already asked for.
    assert meanwhile <= 5, timeline[first:last]
