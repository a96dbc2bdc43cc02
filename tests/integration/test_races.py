"""Races run as races, on SQLite and on PostgreSQL: many buyers, late payments, repeated sweeps."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from bot.services import Shop
from shop import tables as t
from shop.errors import OutOfStockError
from shop.models import Channel, OrderStatus
from shop.orders import Settlement
from tests.conftest import FakeClock, row
from tests.payment_support import Heard


async def _buyers(shop: Shop, sku: str, count: int, quantity: int = 1) -> list[int]:
    product = await shop.catalog.product_by_sku(sku)
    assert product is not None
    ids = []
    for n in range(count):
        customer = await shop.customers.touch(Channel.TELEGRAM, f"buyer-{n}")
        assert customer.id is not None
        await shop.carts.add(customer.id, product.id, quantity)
        ids.append(customer.id)
    return ids


async def _stock(shop: Shop, sku: str) -> int:
    product = await shop.catalog.product_by_sku(sku)
    assert product is not None
    return product.stock


async def test_fifty_buyers_for_the_last_ten_units(any_shop: Shop) -> None:
    shop = any_shop
    await shop.catalog.import_rows([row("LAST", stock=50)])
    buyers = await _buyers(shop, "LAST", 50)
    await shop.catalog.set_stock("LAST", 10)  # the shelf empties while carts wait

    results = await asyncio.gather(
        *(shop.orders.checkout(b, channel="telegram") for b in buyers), return_exceptions=True
    )

    orders = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(orders) == 10
    assert all(isinstance(r, OutOfStockError) for r in refused), refused[:3]
    assert await _stock(shop, "LAST") == 0

    def reserved(conn: Connection) -> int:
        return int(conn.execute(select(func.sum(t.order_line.c.quantity))).scalar_one())

    assert await shop.db.read(reserved) == 10


async def test_expiry_racing_a_payment_settles_one_way_only(
    any_shop: Shop, clock: FakeClock
) -> None:
    shop = any_shop
    await shop.catalog.import_rows([row("A", stock=20)])
    buyers = await _buyers(shop, "A", 10, quantity=2)
    orders = [await shop.orders.checkout(b, channel="telegram") for b in buyers]
    clock.advance(hours=1)  # every hold has run out as the payments arrive

    sweeps_and_payments = await asyncio.gather(
        shop.orders.expire_holds(),
        *(shop.orders.confirm_payment(o.id) for o in orders),
        shop.orders.expire_holds(),
    )

    settlements = sweeps_and_payments[1:-1]
    assert set(settlements) == {
        Settlement.PAID
    }  # stock was there: each paid, re-reserved if needed
    assert await _stock(shop, "A") == 0
    for order in orders:
        details = await shop.orders.get(order.id)
        assert details.order.status == OrderStatus.PAID
    product = await shop.catalog.product_by_sku("A")
    assert product is not None
    assert product.sold == 20


async def test_late_payment_when_the_stock_is_gone_is_refunded_never_oversold(
    any_shop: Shop, clock: FakeClock
) -> None:
    shop = any_shop
    await shop.catalog.import_rows([row("A", stock=5)])
    late = await _buyers(shop, "A", 5)
    orders = [await shop.orders.checkout(b, channel="telegram") for b in late]
    clock.advance(hours=1)
    await shop.orders.expire_holds()
    assert await _stock(shop, "A") == 5
    quick = await shop.customers.touch(Channel.WHATSAPP, "+1555")
    assert quick.id is not None
    product = await shop.catalog.product_by_sku("A")
    assert product is not None
    await shop.carts.add(quick.id, product.id, 3)

    results = await asyncio.gather(
        shop.orders.checkout(quick.id, channel="whatsapp"),
        *(shop.orders.confirm_payment(o.id) for o in orders),
    )

    settlements = results[1:]
    paid = settlements.count(Settlement.PAID)
    assert paid == 2
    assert settlements.count(Settlement.REFUND) == 3
    assert await _stock(shop, "A") == 0


async def test_an_expired_hold_returns_its_stock_exactly_once(
    any_shop: Shop, clock: FakeClock
) -> None:
    shop = any_shop
    await shop.catalog.import_rows([row("A", stock=30)])
    buyers = await _buyers(shop, "A", 10, quantity=3)
    held = [(await shop.orders.checkout(b, channel="telegram")).id for b in buyers]
    assert await _stock(shop, "A") == 0
    clock.advance(hours=1)

    sweeps = await asyncio.gather(*(shop.orders.expire_holds() for _ in range(8)))

    assert sorted(i for sweep in sweeps for i in sweep) == sorted(held)
    assert await _stock(shop, "A") == 30


async def test_the_same_confirmation_twenty_times_at_once_pays_once(any_shop: Shop) -> None:
    shop = any_shop
    await shop.catalog.import_rows([row("A", stock=3)])
    (buyer,) = await _buyers(shop, "A", 1, quantity=3)
    order = await shop.orders.checkout(buyer, channel="telegram")
    heard = await Heard.start(shop)

    results = await asyncio.gather(*(shop.orders.confirm_payment(order.id) for _ in range(20)))

    assert results.count(Settlement.PAID) == 1
    assert results.count(Settlement.ALREADY_PAID) == 19
    assert await heard.said() == ["paid", "staff:paid"]
    product = await shop.catalog.product_by_sku("A")
    assert product is not None
    assert (product.stock, product.sold) == (0, 3)
