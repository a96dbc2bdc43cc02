"""Back in stock: "Notify me" on a sold-out product's card, and the one message when it returns."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from bot.flows import actions as a
from bot.flows.options import offered
from bot.flows.types import Press
from bot.handlers.whatsapp.channel import WHATSAPP
from bot.services import Shop
from shop import tables as t
from shop.models import Channel, OrderStatus
from shop.orders import Contact
from shop.outbox import Kind
from tests.conftest import FakeClock, row
from tests.flow_support import Chat, Pushed, chat, engine

# What the card and the news say, in each language (locales/).
NOTIFY = {"en": "Notify me when it's back", "ru": "Сообщить, когда появится"}
WAITING = {
    "en": "We'll tell you when it's back in stock.",
    "ru": "Мы сообщим, когда товар снова появится.",
}
BACK = {
    "en": "Good news: Sold-out tea is back in stock.\n$9.00",
    "ru": "Хорошая новость: Sold-out tea снова в продаже.\n9,00\xa0$",
}
CHANNELS = [Channel.TELEGRAM, Channel.WHATSAPP, Channel.CONSOLE]


async def sold_out_id(shop: Shop) -> int:
    found = await shop.catalog.product_by_sku("TEA-GONE")
    assert found is not None
    return found.id


async def open_sold_out_card(shop: Shop, channel: Channel, locale: str, user: str) -> Chat:
    """Start a chat on `channel` in `locale` and open the sold-out tea's card."""
    can = WHATSAPP if channel == Channel.WHATSAPP else None
    ann = chat(shop, engine(shop), channel, user, language_code=locale, can=can)
    await ann.command("start")
    await ann.send(Press(a.PRODUCT, str(await sold_out_id(shop))))
    return ann


async def requests(shop: Shop) -> int:
    query = select(func.count()).select_from(t.stock_request)
    return int(await shop.db.read(lambda conn: conn.execute(query).scalar_one()))


async def back_in_stock_queued(shop: Shop) -> list[int]:
    o = t.outbound_message.c
    query = select(o.customer_id).where(o.kind == Kind.BACK_IN_STOCK.value).order_by(o.id)
    return list(await shop.db.read(lambda conn: conn.execute(query).scalars().all()))


@pytest.mark.parametrize("locale", ["en", "ru"])
@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_customer_asks_once_to_be_told_and_is_told_once_in_their_language(
    stocked: Shop, channel: Channel, locale: str
) -> None:
    ann = await open_sold_out_card(stocked, channel, locale, "2001")
    assert NOTIFY[locale] in " ".join(ann.labels)
    assert WAITING[locale] not in ann.text
    notify = ann.button(NOTIFY[locale])
    if channel == Channel.TELEGRAM:
        await ann.tap(NOTIFY[locale])
    else:  # a text channel: the option is chosen by its number, as the customer types it
        numbers = [n for n, b in enumerate(offered(ann.last), 1) if NOTIFY[locale] in b.label]
        await ann.say(str(numbers[0]))
    assert WAITING[locale] in ann.text
    assert NOTIFY[locale] not in " ".join(ann.labels)

    await ann.send(notify.press())  # asked again (an older copy of the card): one request
    assert WAITING[locale] in ann.text
    assert await requests(stocked) == 1

    await stocked.catalog.set_stock("TEA-GONE", 4)
    pushed = Pushed(stocked, engine(stocked), channel)
    assert await pushed.texts() == [BACK[locale]]
    assert await requests(stocked) == 0  # consumed

    await stocked.catalog.set_stock("TEA-GONE", 0)
    await stocked.catalog.set_stock("TEA-GONE", 7)
    assert await pushed.texts() == [BACK[locale]]  # nothing more


async def test_a_stale_notify_button_pressed_after_the_product_returned_asks_nothing(
    stocked: Shop,
) -> None:
    ann = await open_sold_out_card(stocked, Channel.TELEGRAM, "en", "2001")
    notify = ann.button(NOTIFY["en"])
    await stocked.catalog.set_stock("TEA-GONE", 2)
    await ann.send(notify.press())
    assert "In stock: 2" in ann.text
    assert await requests(stocked) == 0


async def test_an_import_that_brings_stock_back_tells_everyone_who_asked(stocked: Shop) -> None:
    asking = [await open_sold_out_card(stocked, Channel.TELEGRAM, "en", f"30{n}") for n in range(3)]
    for ann in asking:
        await ann.tap(NOTIFY["en"])
    await stocked.catalog.import_rows([row("TEA-1", stock=9)])  # another product: nobody told
    assert await back_in_stock_queued(stocked) == []

    await stocked.catalog.import_rows([row("TEA-GONE", title="Sold-out tea", stock=5)])
    ids = [(await ann.customer()).id for ann in asking]
    assert await back_in_stock_queued(stocked) == ids
    await stocked.catalog.import_rows([row("TEA-GONE", title="Sold-out tea", stock=6)])
    assert await back_in_stock_queued(stocked) == ids


async def test_units_given_back_by_a_cancelled_order_tell_whoever_waits(
    stocked: Shop, clock: FakeClock
) -> None:
    buyer = await stocked.customers.touch(Channel.TELEGRAM, "4001")
    cup = await stocked.catalog.product_by_sku("CUP")
    assert cup is not None
    await stocked.carts.add(buyer.id, cup.id, cup.stock)  # the last units, held by an order
    order = await stocked.orders.checkout(
        buyer.id, channel="telegram", contact=Contact("Bo", "+15550111"), delivery="pickup"
    )
    ann = chat(stocked, engine(stocked), user="4002")
    await ann.send(Press(a.PRODUCT, str(cup.id)))
    await ann.tap(NOTIFY["en"])

    await stocked.orders.transition(order.id, OrderStatus.CANCELLED)
    assert await back_in_stock_queued(stocked) == [(await ann.customer()).id]


async def test_a_customer_who_blocked_the_bot_is_not_queued_a_message(stocked: Shop) -> None:
    ann = await open_sold_out_card(stocked, Channel.TELEGRAM, "en", "2001")
    await ann.tap(NOTIFY["en"])
    blocked = (await ann.customer()).id
    await stocked.db.write(
        lambda conn: conn.execute(
            update(t.customer).where(t.customer.c.id == blocked).values(unreachable_at=func.now())
        )
    )
    await stocked.catalog.set_stock("TEA-GONE", 3)
    assert await back_in_stock_queued(stocked) == []
    assert await requests(stocked) == 0
