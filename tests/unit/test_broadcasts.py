"""Broadcasts: who each segment reaches, what a dry run counts, and each recipient queued once.

A small shop of customers each standing for a case: a buyer who came from a poster,
a WhatsApp customer with a cart who last wrote two days ago, a buyer who opted out,
one the bot cannot reach, one who scanned the poster later and has only an unpaid
order, and a terminal customer (no messenger to push to).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, update

from bot.services import Shop
from shop import tables as t
from shop.analytics import EventKind, Visit
from shop.audience import AudienceSize, Segment, SegmentError
from shop.broadcasts import BATCH, NobodyError, State
from shop.models import Channel
from shop.outbox import Status
from tests.broadcast_support import add_customers, queue_broadcast
from tests.conftest import FakeClock
from tests.flow_support import stock_the_shop

POSTER = "poster-1"


@dataclass
class People:
    """The test's customers by name: their ids."""

    ids: dict[str, int]

    def names(self, customer_ids: set[int]) -> set[str]:
        return {name for name, customer_id in self.ids.items() if customer_id in customer_ids}


async def people(shop: Shop, clock: FakeClock) -> People:
    await stock_the_shop(shop)
    ids: dict[str, int] = {}

    async def customer(name: str, channel: Channel, source: str | None = None) -> int:
        found = await shop.customers.touch(channel, name, source=source)
        await shop.customers.set_marketing_consent(found.id, True)
        ids[name] = found.id
        return found.id

    async def buy(customer_id: int, sku: str, channel: Channel, *, pay: bool = True) -> None:
        product = await shop.catalog.product_by_sku(sku)
        assert product is not None
        await shop.carts.add(customer_id, product.id, 1)
        order = await shop.orders.checkout(customer_id, channel=channel.value)
        if pay:
            await shop.orders.confirm_payment(order.id)

    bob = await customer("bob", Channel.WHATSAPP)
    cup = await shop.catalog.product_by_sku("CUP")
    assert cup is not None
    await shop.carts.add(bob, cup.id, 1)
    clock.advance(hours=49)  # Bob last wrote two days ago: outside WhatsApp's window

    ann = await customer("ann", Channel.TELEGRAM, source=POSTER)
    await buy(ann, "TEA-1", Channel.TELEGRAM)
    cat = await customer("cat", Channel.TELEGRAM)
    await buy(cat, "CUP", Channel.TELEGRAM)
    await shop.customers.set_marketing_consent(cat, False)
    dan = await customer("dan", Channel.TELEGRAM)
    blocked = update(t.customer).where(t.customer.c.id == dan).values(unreachable_at=clock.now)
    await shop.db.write(lambda conn: conn.execute(blocked))
    eve = await customer("eve", Channel.WHATSAPP)
    await shop.analytics.record(EventKind.SOURCE, Visit(eve, Channel.WHATSAPP.value, POSTER))
    await buy(eve, "TEA-2", Channel.WHATSAPP, pay=False)
    await customer("fay", Channel.CONSOLE)
    return People(ids)


async def recipients(shop: Shop, broadcast_id: int) -> list[int]:
    o = t.outbound_message.c
    query = select(o.customer_id).where(o.broadcast_id == broadcast_id).order_by(o.customer_id)
    return list(await shop.db.read(lambda conn: conn.execute(query).scalars().all()))


@pytest.mark.parametrize(
    ("segment", "channel", "expected"),
    [
        ("all", None, {"ann", "bob", "eve"}),
        ("all", Channel.WHATSAPP, {"bob", "eve"}),
        ("buyers", None, {"ann"}),
        ("cart", None, {"bob"}),
        (f"source:{POSTER}", None, {"ann", "eve"}),
        ("category:Tea", None, {"ann"}),
        ("Category: Tea ", Channel.TELEGRAM, {"ann"}),
    ],
)
async def test_a_segment_reaches_its_consenting_reachable_messenger_customers_once_each(
    any_shop: Shop, clock: FakeClock, segment: str, channel: Channel | None, expected: set[str]
) -> None:
    cast = await people(any_shop, clock)

    text = "New tea is in!\x1b[2J\nCome and see."
    queued = await queue_broadcast(any_shop, text, Segment.parse(segment), channel)

    got = await recipients(any_shop, queued.id)
    assert cast.names(set(got)) == expected
    assert len(got) == len(expected)  # once each
    assert queued.text == "New tea is in![2J\nCome and see."  # its escape code made harmless
    assert (queued.state, queued.total, queued.pending) == (
        State.SENDING,
        len(expected),
        len(expected),
    )


async def test_a_person_on_two_channels_gets_one_message_where_they_wrote_last(
    any_shop: Shop, clock: FakeClock
) -> None:
    number = "447700900123"
    telegram = await any_shop.customers.touch(Channel.TELEGRAM, "1001")
    await any_shop.customers.set_marketing_consent(telegram.id, True)
    clock.advance(hours=1)
    whatsapp = await any_shop.customers.touch(Channel.WHATSAPP, number, phone=number)
    await any_shop.customers.prove_phone(telegram.id, "+" + number)  # one person now
    other = await any_shop.customers.touch(Channel.TELEGRAM, "1002")
    await any_shop.customers.set_marketing_consent(other.id, True)

    first = await queue_broadcast(any_shop, "New tea is in!")
    clock.advance(hours=1)
    await any_shop.customers.touch(Channel.TELEGRAM, "1001")  # back on Telegram
    second = await queue_broadcast(any_shop, "And new cups.")

    assert await recipients(any_shop, first.id) == [whatsapp.id, other.id]
    assert await recipients(any_shop, second.id) == [telegram.id, other.id]
    sizes = await any_shop.broadcasts.sizes(Segment(), None)
    assert sum(size.customers for size in sizes) == 2


async def test_a_dry_run_counts_per_channel_who_only_a_template_reaches_and_queues_nothing(
    any_shop: Shop, clock: FakeClock
) -> None:
    await people(any_shop, clock)

    sizes = await any_shop.broadcasts.sizes(Segment(), None)

    assert sizes == [AudienceSize("telegram", 1, 0), AudienceSize("whatsapp", 2, 1)]
    assert await any_shop.broadcasts.all() == []


@pytest.mark.parametrize(
    ("segment", "reason"),
    [
        ("everyone", "segment 'everyone': use all, buyers, cart, source:NAME or category:NAME"),
        ("source:", "segment 'source:': use all, buyers, cart, source:NAME or category:NAME"),
        ("buyers:Tea", "segment 'buyers:Tea': use all, buyers, cart, source:NAME or category:NAME"),
    ],
)
def test_a_segment_that_is_not_one_is_refused_with_the_ones_there_are(
    segment: str, reason: str
) -> None:
    with pytest.raises(SegmentError) as refused:
        Segment.parse(segment)
    assert str(refused.value) == reason


async def test_a_broadcast_nobody_may_receive_or_to_no_such_category_is_refused_and_recorded_nowhere(
    shop: Shop, clock: FakeClock
) -> None:
    await people(shop, clock)

    with pytest.raises(NobodyError, match="no customer in segment category:Things"):
        await shop.broadcasts.create("Mugs!", Segment.parse("category:Things"), None)
    with pytest.raises(SegmentError, match="no category named 'Mugs'; the shop has: Gift, Tea"):
        await shop.broadcasts.create("Mugs!", Segment.parse("category:Mugs"), None)
    with pytest.raises(SegmentError):
        await shop.broadcasts.sizes(Segment.parse("category:Mugs"), None)
    assert await shop.broadcasts.all() == []


async def test_a_broadcast_interrupted_while_queueing_is_resumed_where_it_stopped(
    shop: Shop,
) -> None:
    everyone = await add_customers(shop, Channel.TELEGRAM, 9_000_000, BATCH * 2 + 7)
    broadcast_id = await shop.broadcasts.create("Sale!", Segment(), None)
    later = await add_customers(shop, Channel.TELEGRAM, 9_900_000, 3)  # after the send: not in it

    # The process that sent it queued one batch and died: the mark says how far it got.
    assert await shop.broadcasts.write_batch(broadcast_id) == (BATCH, False)
    interrupted = await shop.broadcasts.status(broadcast_id)
    assert (interrupted.state, interrupted.total) == (State.PREPARING, BATCH)
    assert await shop.broadcasts.left_to_write(broadcast_id) == BATCH + 7

    await shop.broadcasts.write(broadcast_id)
    await shop.broadcasts.write(broadcast_id)  # resumed again: nothing more

    assert await recipients(shop, broadcast_id) == everyone
    assert not set(later) & set(await recipients(shop, broadcast_id))
    resumed = await shop.broadcasts.status(broadcast_id)
    assert (resumed.state, resumed.total, resumed.pending) == (
        State.SENDING,
        len(everyone),
        len(everyone),
    )
    assert await shop.broadcasts.left_to_write(broadcast_id) == 0


async def test_two_resumes_at_once_queue_each_recipient_once(any_shop: Shop) -> None:
    everyone = await add_customers(any_shop, Channel.TELEGRAM, 9_000_000, BATCH * 3)
    broadcast_id = await any_shop.broadcasts.create("Sale!", Segment(), Channel.TELEGRAM)

    await asyncio.gather(*(any_shop.broadcasts.write(broadcast_id) for _ in range(3)))

    assert await recipients(any_shop, broadcast_id) == everyone
    o = t.outbound_message.c
    count = select(func.count()).where(o.broadcast_id == broadcast_id, o.status == Status.PENDING)
    assert await any_shop.db.read(lambda conn: conn.execute(count).scalar_one()) == len(everyone)
