"""A broadcast sent by another process (`chatshop worker`) is credited within a minute.

The serving process keeps its customers in memory (shop/customers.py): it sees the
broadcast once its copy of the customer is older than `SEEN_PRECISION`.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from shop import tables as t
from shop.customers import SEEN_PRECISION
from shop.models import Channel
from tests.broadcast_support import queue_broadcast
from tests.conftest import FakeClock
from tests.flow_support import Chat, Pushed, chat, engine


async def visits_of(shop: Shop, customer: Chat) -> list[tuple[str, str | None]]:
    """Return the kind and source of each visit the customer began, in order."""
    found = await customer.customer()
    e = t.analytics_event.c
    query = (
        select(e.kind, e.source)
        .where(e.customer_id == found.id, e.kind.in_(["start", "visit"]))
        .order_by(e.id)
    )
    return [(kind, source) for kind, source in await shop.db.read(lambda c: c.execute(query))]


async def test_a_broadcast_sent_by_another_process_is_credited_within_a_minute(
    stocked: Shop, sqlite_url: str, clock: FakeClock
) -> None:
    ann = chat(stocked, engine(stocked), Channel.TELEGRAM, "801", name="Ann")
    await ann.command("start")
    clock.advance(seconds=10)
    await ann.say("tea")  # browsing: the serving process keeps her in memory as just seen
    worker = build_shop(Settings(database_url=sqlite_url), clock=clock)  # another process
    try:
        broadcast = await queue_broadcast(worker, "Tea week")
        assert await Pushed(worker, engine(worker), Channel.TELEGRAM).texts() == ["Tea week"]
    finally:
        await worker.db.dispose()

    clock.advance(seconds=20)
    await ann.say("cup")  # her copy in memory is too fresh to read again: the same visit
    assert await visits_of(stocked, ann) == [("start", None)]
    # A minute since the serving process last wrote her down (her /start): it reads her again.
    clock.advance(seconds=SEEN_PRECISION.total_seconds() - 30)
    await ann.say("cup")
    credited = ("visit", f"broadcast-{broadcast.id}")
    assert await visits_of(stocked, ann) == [("start", None), credited]
    clock.advance(seconds=30)
    await ann.say("green tea")  # back since the broadcast: no second visit
    assert await visits_of(stocked, ann) == [("start", None), credited]
