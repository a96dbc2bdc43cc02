"""What staff read about orders: each with its customer and timeline, in full when asked."""

from __future__ import annotations

import pytest

from bot.services import Shop
from shop.errors import NotFoundError
from shop.models import OrderStatus
from shop.staff_views import order_in_full, recent_orders
from tests.payment_support import pending_order


async def test_recent_orders_come_newest_first_with_customer_and_timeline(shop: Shop) -> None:
    orders = [await pending_order(shop, customer=str(n), quantity=1) for n in range(3)]
    await shop.orders.confirm_payment(orders[1].id)

    newest = await recent_orders(shop.db, limit=2)
    paid = await recent_orders(shop.db, status=OrderStatus.PAID)

    assert [found.order.id for found in newest] == [orders[2].id, orders[1].id]
    assert [found.customer.external_id for found in newest] == ["2", "1"]
    assert [[step.status for step in found.timeline] for found in newest] == [
        ["pending_payment"],
        ["pending_payment", "paid"],
    ]
    assert all(not found.lines and not found.payments for found in newest)
    assert [found.order.id for found in paid] == [orders[1].id]


async def test_one_order_in_full_has_its_lines_and_payments(shop: Shop) -> None:
    order = await pending_order(shop, quantity=2)
    await shop.payments.start(order.id, provider="sandbox")

    found = await order_in_full(shop.db, order.id)

    assert [(line.sku, line.quantity) for line in found.lines] == [("A", 2)]
    assert [(p.provider, p.amount) for p in found.payments] == [("sandbox", order.total)]
    with pytest.raises(NotFoundError):
        await order_in_full(shop.db, order.id + 1)
