"""Checkout, stock reservation, payment settlement and the order status machine."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from shop import tables as t
from shop.errors import (
    CartEmptyError,
    IllegalTransitionError,
    NotFoundError,
    OutOfStockError,
    PromoRejectedError,
)
from shop.migrate import upgrade
from shop.models import Channel, OrderStatus, PromoKind
from shop.orders import Contact, Settlement
from shop.views import OrderView, ProductView
from tests.conftest import FakeClock, row
from tests.payment_support import Heard


async def _customer(shop: Shop, external_id: str = "1") -> int:
    customer = await shop.customers.touch(Channel.TELEGRAM, external_id, display_name="Ann")
    assert customer.id is not None
    return customer.id


async def _product(shop: Shop, sku: str) -> ProductView:
    product = await shop.catalog.product_by_sku(sku)
    assert product is not None
    return product


async def test_checkout_snapshots_the_cart_and_reserves_stock(shop: Shop) -> None:
    await shop.catalog.import_rows([row("PHONE", price=69_900, stock=5), row("CASE", price=1_999)])
    buyer = await _customer(shop)
    phone, case = await _product(shop, "PHONE"), await _product(shop, "CASE")
    await shop.carts.add(buyer, phone.id, 2)
    await shop.carts.add(buyer, case.id, 1)

    order = await shop.orders.checkout(
        buyer,
        channel="telegram",
        contact=Contact("Ann", "+15550100"),
        delivery="courier",
        address="1 Main St",
    )

    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.subtotal == 2 * 69_900 + 1_999
    assert order.delivery_price == 0  # courier is free from $50
    assert order.total == order.subtotal
    assert order.delivery_address == "1 Main St"
    assert (await _product(shop, "PHONE")).stock == 3
    assert (await shop.carts.view(buyer)).lines == []
    # The snapshot keeps the price paid even when the catalog changes later.
    await shop.catalog.set_price("PHONE", 79_900)
    details = await shop.orders.get(order.id)
    assert [(line.sku, line.unit_price, line.quantity) for line in details.lines] == [
        ("PHONE", 69_900, 2),
        ("CASE", 1_999, 1),
    ]
    assert [event.status for event in details.events] == ["pending_payment"]
    customer = await shop.customers.get(buyer)
    assert (customer.contact_name, customer.delivery_address) == ("Ann", "1 Main St")


async def test_checkout_of_more_than_is_left_reserves_nothing_and_keeps_the_cart(
    shop: Shop,
) -> None:
    await shop.catalog.import_rows([row("A", stock=5), row("B", stock=1)])
    first, second = await _customer(shop, "1"), await _customer(shop, "2")
    a, b = await _product(shop, "A"), await _product(shop, "B")
    for buyer in (first, second):
        await shop.carts.add(buyer, a.id, 2)
        await shop.carts.add(buyer, b.id, 1)
    await shop.orders.checkout(first, channel="telegram")

    with pytest.raises(OutOfStockError) as raised:
        await shop.orders.checkout(second, channel="telegram")

    assert [(s.sku, s.requested, s.available) for s in raised.value.shortages] == [("B", 1, 0)]
    assert (await _product(shop, "A")).stock == 3  # A's units were not taken either
    assert (await shop.carts.view(second)).units == 3


async def test_empty_cart_cannot_check_out(shop: Shop) -> None:
    buyer = await _customer(shop)
    with pytest.raises(CartEmptyError):
        await shop.orders.checkout(buyer, channel="telegram")


async def test_digital_only_orders_need_no_delivery(shop: Shop) -> None:
    await shop.catalog.import_rows([row("GIFT", digital=True, price=5_000)])
    buyer = await _customer(shop)
    await shop.carts.add(buyer, (await _product(shop, "GIFT")).id)
    order = await shop.orders.checkout(buyer, channel="telegram", delivery="courier", address="x")
    assert (order.delivery_method, order.delivery_price, order.delivery_address) == (
        "none",
        0,
        None,
    )
    assert order.digital


async def test_payment_commits_stock_once_and_counts_sales(shop: Shop) -> None:
    await shop.catalog.import_rows([row("A", stock=4)])
    buyer = await _customer(shop)
    a = await _product(shop, "A")
    await shop.carts.add(buyer, a.id, 3)
    order = await shop.orders.checkout(buyer, channel="telegram")

    assert await shop.orders.confirm_payment(order.id) == Settlement.PAID
    assert await shop.orders.confirm_payment(order.id) == Settlement.ALREADY_PAID

    after = await _product(shop, "A")
    assert (after.stock, after.sold) == (1, 3)
    details = await shop.orders.get(order.id)
    assert [e.status for e in details.events] == ["pending_payment", "paid"]
    assert await shop.orders.expire_holds() == []  # a paid order never expires


async def test_expired_hold_returns_stock_exactly_once(shop: Shop, clock: FakeClock) -> None:
    await shop.catalog.import_rows([row("A", stock=2)])
    buyer = await _customer(shop)
    await shop.carts.add(buyer, (await _product(shop, "A")).id, 2)
    order = await shop.orders.checkout(buyer, channel="telegram")
    assert (await _product(shop, "A")).stock == 0

    clock.advance(minutes=29)
    assert await shop.orders.expire_holds() == []
    clock.advance(minutes=2)
    assert await shop.orders.expire_holds() == [order.id]
    assert await shop.orders.expire_holds() == []

    assert (await _product(shop, "A")).stock == 2
    details = await shop.orders.get(order.id)
    assert details.order.status == OrderStatus.CANCELLED
    assert details.events[-1].note == "payment time ran out"


async def test_payment_after_expiry_takes_the_stock_again_when_it_is_there(
    shop: Shop, clock: FakeClock
) -> None:
    await shop.catalog.import_rows([row("A", stock=2)])
    buyer = await _customer(shop)
    await shop.carts.add(buyer, (await _product(shop, "A")).id, 2)
    order = await shop.orders.checkout(buyer, channel="telegram")
    clock.advance(hours=1)
    await shop.orders.expire_holds()

    assert await shop.orders.confirm_payment(order.id) == Settlement.PAID

    assert (await _product(shop, "A")).stock == 0
    assert (await shop.orders.get(order.id)).order.status == OrderStatus.PAID


async def test_payment_after_expiry_is_refunded_when_the_stock_was_sold(
    shop: Shop, clock: FakeClock
) -> None:
    await shop.catalog.import_rows([row("A", stock=1)])
    late, quick = await _customer(shop, "1"), await _customer(shop, "2")
    a = await _product(shop, "A")
    await shop.carts.add(late, a.id)
    order = await shop.orders.checkout(late, channel="telegram")
    clock.advance(hours=1)
    await shop.orders.expire_holds()
    await shop.carts.add(quick, a.id)
    await shop.orders.checkout(quick, channel="telegram")

    assert await shop.orders.confirm_payment(order.id) == Settlement.REFUND

    assert (await _product(shop, "A")).stock == 0  # never oversold
    assert (await shop.orders.get(order.id)).order.status == OrderStatus.CANCELLED


async def test_payment_for_an_order_the_customer_cancelled_is_refunded(shop: Shop) -> None:
    await shop.catalog.import_rows([row("A", stock=1)])
    buyer = await _customer(shop)
    await shop.carts.add(buyer, (await _product(shop, "A")).id)
    order = await shop.orders.checkout(buyer, channel="telegram")
    await shop.orders.transition(order.id, OrderStatus.CANCELLED, actor="customer")

    assert (await _product(shop, "A")).stock == 1
    assert await shop.orders.confirm_payment(order.id) == Settlement.REFUND
    assert (await _product(shop, "A")).stock == 1


async def test_status_machine_walks_forward_with_tracking_and_refuses_with_reasons(
    shop: Shop, clock: FakeClock
) -> None:
    await shop.catalog.import_rows([row("A", stock=3)])
    buyer = await _customer(shop)
    await shop.carts.add(buyer, (await _product(shop, "A")).id)
    order = await shop.orders.checkout(buyer, channel="telegram")

    with pytest.raises(IllegalTransitionError, match="payment provider"):
        await shop.orders.transition(order.id, OrderStatus.PAID)
    with pytest.raises(IllegalTransitionError, match="goes to paid or cancelled"):
        await shop.orders.transition(order.id, OrderStatus.SHIPPED)

    await shop.orders.confirm_payment(order.id)
    with pytest.raises(IllegalTransitionError, match="refunded, not cancelled"):
        await shop.orders.transition(order.id, OrderStatus.CANCELLED)
    clock.advance(hours=2)
    await shop.orders.transition(order.id, OrderStatus.PACKED)
    clock.advance(hours=3)
    shipped = await shop.orders.transition(
        order.id, OrderStatus.SHIPPED, carrier="DHL", tracking_number="JD0146"
    )
    assert (shipped.carrier, shipped.tracking_number) == ("DHL", "JD0146")
    clock.advance(days=2)
    await shop.orders.transition(order.id, OrderStatus.DELIVERED)
    with pytest.raises(IllegalTransitionError, match="already delivered"):
        await shop.orders.transition(order.id, OrderStatus.DELIVERED)

    timeline = (await shop.orders.get(order.id)).events
    assert [e.status for e in timeline] == [
        "pending_payment",
        "paid",
        "packed",
        "shipped",
        "delivered",
    ]
    assert [e.at for e in timeline] == sorted(e.at for e in timeline)
    assert all(e.at.tzinfo is not None for e in timeline)
    assert timeline[3].tracking_number == "JD0146"


async def test_refund_before_shipping_puts_goods_back_on_the_shelf(shop: Shop) -> None:
    await shop.catalog.import_rows([row("A", stock=3), row("B", stock=3)])
    buyer = await _customer(shop)
    for sku in ("A", "B"):
        await shop.carts.add(buyer, (await _product(shop, sku)).id)
        order = await shop.orders.checkout(buyer, channel="telegram")
        await shop.orders.confirm_payment(order.id)
        if sku == "B":
            await shop.orders.transition(order.id, OrderStatus.PACKED)
            await shop.orders.transition(order.id, OrderStatus.SHIPPED)
        await shop.orders.transition(order.id, OrderStatus.REFUNDED)
    a, b = await _product(shop, "A"), await _product(shop, "B")
    assert (a.stock, a.sold) == (3, 0)  # refunded while still with us
    assert (b.stock, b.sold) == (2, 1)  # shipped: the unit is with the customer


async def test_each_change_queues_one_message_in_its_own_transaction(shop: Shop) -> None:
    await shop.catalog.import_rows([row("A")])
    buyer = await _customer(shop)
    await shop.carts.add(buyer, (await _product(shop, "A")).id)
    heard = await Heard.start(shop)
    order = await shop.orders.checkout(buyer, channel="telegram")
    assert await heard.said() == []  # placing an order is answered in the chat
    await shop.orders.confirm_payment(order.id)
    await shop.orders.confirm_payment(order.id)  # a repeat says nothing more
    await shop.orders.transition(order.id, OrderStatus.PACKED)
    with pytest.raises(IllegalTransitionError):
        await shop.orders.transition(order.id, OrderStatus.DELIVERED)  # refused: nothing said

    assert await heard.said() == ["paid", "staff:paid", "packed"]


async def test_a_customer_sees_only_their_own_orders(shop: Shop) -> None:
    await shop.catalog.import_rows([row("A")])
    owner, other = await _customer(shop, "1"), await _customer(shop, "2")
    await shop.carts.add(owner, (await _product(shop, "A")).id)
    order = await shop.orders.checkout(owner, channel="telegram")

    with pytest.raises(NotFoundError):
        await shop.orders.get(order.id, customer_id=other)
    with pytest.raises(NotFoundError):
        await shop.orders.transition(order.id, OrderStatus.CANCELLED, customer_id=other)
    assert [o.id for o in await shop.orders.list_for_customer(owner)] == [order.id]
    assert await shop.orders.list_for_customer(other) == []


async def _held_with_promo(shop: Shop, buyer: int, code: str) -> OrderView:
    await shop.carts.add(buyer, (await _product(shop, "A")).id, 1)
    await shop.carts.apply_promo(buyer, code)
    return await shop.orders.checkout(buyer, channel="telegram")


async def _promo_uses(shop: Shop, code: str) -> tuple[int, list[int]]:
    def work(conn: Connection) -> tuple[int, list[int]]:
        used = conn.execute(
            select(t.promo_code.c.used_count).where(t.promo_code.c.code == code)
        ).scalar_one()
        orders = conn.execute(
            select(t.promo_redemption.c.order_id)
            .where(t.promo_redemption.c.code == code)
            .order_by(t.promo_redemption.c.order_id)
        ).scalars()
        return used, list(orders)

    return await shop.db.read(work)


@pytest.mark.parametrize("limit", ["one use", "once per customer"])
async def test_a_late_payment_never_takes_a_promo_use_someone_took_meanwhile(
    any_shop: Shop, clock: FakeClock, limit: str
) -> None:
    shop = any_shop
    await shop.catalog.import_rows([row("A", price=1_000, stock=10)])
    one_use = limit == "one use"
    await shop.promos.create(
        "ONCE", PromoKind.PERCENT, 50, usage_limit=1 if one_use else None, per_customer=1
    )
    ann = await _customer(shop, "ann")
    late = await _held_with_promo(shop, ann, "ONCE")
    clock.advance(hours=1)
    await shop.orders.expire_holds()  # the hold ran out: the code's use is given back
    # Meanwhile the code is used again: by someone else (one use) or by Ann herself.
    again = await _held_with_promo(shop, await _customer(shop, "bob") if one_use else ann, "ONCE")
    stock = (await _product(shop, "A")).stock

    settlement = await shop.orders.confirm_payment(late.id)

    assert settlement is Settlement.REFUND
    assert (await shop.orders.get(late.id)).order.status == OrderStatus.CANCELLED
    assert await _promo_uses(shop, "ONCE") == (1, [again.id])
    assert (await _product(shop, "A")).stock == stock  # nothing taken for it either


async def test_a_late_payment_takes_its_promo_use_again_when_it_is_free(
    any_shop: Shop, clock: FakeClock
) -> None:
    shop = any_shop
    await shop.catalog.import_rows([row("A", price=1_000, stock=10)])
    await shop.promos.create("ONCE", PromoKind.PERCENT, 50, usage_limit=1)
    late = await _held_with_promo(shop, await _customer(shop, "ann"), "ONCE")
    clock.advance(hours=1)
    await shop.orders.expire_holds()
    assert await _promo_uses(shop, "ONCE") == (0, [])

    assert await shop.orders.confirm_payment(late.id) is Settlement.PAID
    assert await _promo_uses(shop, "ONCE") == (1, [late.id])
    with pytest.raises(PromoRejectedError):
        await shop.carts.apply_promo(await _customer(shop, "bob"), "ONCE")


async def test_the_hold_lasts_as_the_owner_set_it(sqlite_url: str, clock: FakeClock) -> None:
    shop = build_shop(Settings(database_url=sqlite_url, stock_hold_minutes=10), clock=clock)
    try:
        await upgrade(shop.db)
        await shop.catalog.import_rows([row("A")])
        buyer = await _customer(shop)
        await shop.carts.add(buyer, (await _product(shop, "A")).id, 1)
        order = await shop.orders.checkout(buyer, channel="telegram")
        assert order.reserved_until == clock.now + timedelta(minutes=10)
        clock.advance(minutes=9)
        assert await shop.orders.expire_holds() == []
        clock.advance(minutes=1)
        assert await shop.orders.expire_holds() == [order.id]
    finally:
        await shop.db.dispose()


def test_read_models_follow_their_tables_column_for_column() -> None:
    # load_cart builds ProductView positionally from the product columns.
    assert [f.name for f in fields(ProductView)] == list(t.product.c.keys())
    assert [f.name for f in fields(OrderView)] == list(t.order.c.keys())


async def test_a_move_made_on_what_someone_saw_is_refused_once_the_order_moved(
    shop: Shop,
) -> None:
    await shop.catalog.import_rows([row("A")])
    buyer = await _customer(shop)
    await shop.carts.add(buyer, (await _product(shop, "A")).id)
    order = await shop.orders.checkout(buyer, channel="telegram")
    await shop.orders.confirm_payment(order.id)
    await shop.orders.transition(order.id, OrderStatus.PACKED, expected=OrderStatus.PAID)

    # Another staff member, looking at the card as it was (paid), presses Refund.
    with pytest.raises(IllegalTransitionError, match="it is packed now, not paid as shown"):
        await shop.orders.transition(order.id, OrderStatus.REFUNDED, expected=OrderStatus.PAID)
    assert (await shop.orders.get(order.id)).order.status == OrderStatus.PACKED
