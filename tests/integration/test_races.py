"""Races run as races, on SQLite and on PostgreSQL: many buyers, late payments, repeated sweeps."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from shop import tables as t
from shop.errors import OutOfStockError, PromoProblem, PromoRejectedError
from shop.migrate import upgrade
from shop.models import Channel, OrderStatus, PromoKind
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


@pytest.mark.postgres
async def test_one_customer_s_concurrent_checkouts_never_use_a_code_beyond_its_limit(
    postgres_url: str,
) -> None:
    # Each checkout buys another product at once, so only the code's row is shared. A
    # transaction holding that row makes every checkout wait at the code together, having
    # seen one use of two left: the count must be taken under the lock, not before it.
    shop = build_shop(Settings(database_url=postgres_url))
    holder = create_async_engine(postgres_url)
    try:
        await upgrade(shop.db)
        await shop.catalog.import_rows([row(f"P{n}", price=1_000) for n in range(9)])
        products = [p.id for p in await shop.catalog.all_products()]
        await shop.promos.create("TWICE", PromoKind.PERCENT, 10, per_customer=2)
        ann = await shop.customers.touch(Channel.TELEGRAM, "ann")
        await shop.carts.apply_promo(ann.id, "TWICE")
        first = await shop.orders.checkout(ann.id, channel="telegram", only=(products[0], 1))
        assert first.discount == 100
        await shop.carts.apply_promo(ann.id, "TWICE")  # "Buy now" took it off the cart

        async with holder.begin() as held:
            await held.execute(
                update(t.promo_code).where(t.promo_code.c.code == "TWICE").values(active=True)
            )
            checkouts = asyncio.gather(
                *(
                    shop.orders.checkout(ann.id, channel="telegram", only=(product, 1))
                    for product in products[1:]
                ),
                return_exceptions=True,
            )
            async with asyncio.timeout(30):
                while True:
                    if await _waiting_for_locks(holder) == len(products) - 1:
                        break
                    await asyncio.sleep(0.01)  # the next look at an observable condition
        results = await checkouts

        placed = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, BaseException)]
        assert all(
            isinstance(r, PromoRejectedError) and r.problem is PromoProblem.ALREADY_USED
            for r in refused
        ), refused[:3]
        assert [order.discount for order in placed] == [100]

        def uses(conn: Connection) -> tuple[int, int]:
            used = conn.execute(
                select(t.promo_code.c.used_count).where(t.promo_code.c.code == "TWICE")
            ).scalar_one()
            redemptions = conn.execute(
                select(func.count())
                .select_from(t.promo_redemption)
                .where(t.promo_redemption.c.customer_id == ann.id)
            ).scalar_one()
            return int(used), int(redemptions)

        assert await shop.db.read(uses) == (2, 2)
    finally:
        await holder.dispose()
        await shop.db.dispose()


async def _waiting_for_locks(engine: AsyncEngine) -> int:
    """Return how many sessions of this database wait for a lock another holds."""
    async with engine.connect() as conn:
        waiting = await conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return int(waiting.scalar_one())
