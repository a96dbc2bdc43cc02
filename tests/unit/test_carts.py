"""Carts and promo codes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from shop.errors import (
    OutOfStockError,
    ProductUnavailableError,
    PromoProblem,
    PromoRejectedError,
)
from shop.models import Channel, OrderStatus, PromoKind
from tests.conftest import FakeClock, row


async def _setup(shop: Shop) -> tuple[int, dict[str, int]]:
    await shop.catalog.import_rows(
        [
            row("TEA", price=1_250, stock=5),
            row("CUP", price=800, stock=2),
            row("EUR", currency="EUR"),
        ]
    )
    customer = await shop.customers.touch(Channel.CONSOLE, "me")
    assert customer.id is not None
    ids = {}
    for sku in ("TEA", "CUP", "EUR"):
        product = await shop.catalog.product_by_sku(sku)
        assert product is not None
        ids[sku] = product.id
    return customer.id, ids


async def test_add_change_remove_and_clear(shop: Shop) -> None:
    me, ids = await _setup(shop)
    await shop.carts.add(me, ids["TEA"])
    cart = await shop.carts.add(me, ids["TEA"], 2)
    assert [(line.product.sku, line.quantity) for line in cart.lines] == [("TEA", 3)]
    cart = await shop.carts.add(me, ids["CUP"])
    assert (cart.subtotal, cart.total, cart.units) == (3 * 1_250 + 800, 3 * 1_250 + 800, 4)

    cart = await shop.carts.set_quantity(me, ids["TEA"], 1)
    assert cart.subtotal == 1_250 + 800
    cart = await shop.carts.remove(me, ids["CUP"])
    assert [line.product.sku for line in cart.lines] == ["TEA"]
    cart = await shop.carts.set_quantity(me, ids["TEA"], 0)
    assert cart.lines == []
    await shop.carts.add(me, ids["TEA"])
    assert (await shop.carts.clear(me)).lines == []


async def test_cart_survives_a_restart(shop: Shop, sqlite_url: str, clock: FakeClock) -> None:
    me, ids = await _setup(shop)
    await shop.carts.add(me, ids["TEA"], 2)
    await shop.db.dispose()
    again = build_shop(Settings(database_url=sqlite_url), clock=clock)
    try:
        cart = await again.carts.view(me)
        assert [(line.product.sku, line.quantity) for line in cart.lines] == [("TEA", 2)]
    finally:
        await again.db.dispose()


async def test_cannot_put_more_in_the_cart_than_is_in_stock(shop: Shop) -> None:
    me, ids = await _setup(shop)
    await shop.carts.add(me, ids["CUP"], 2)
    with pytest.raises(OutOfStockError) as raised:
        await shop.carts.add(me, ids["CUP"])
    assert raised.value.shortages[0].available == 2
    assert (await shop.carts.view(me)).units == 2


async def test_inactive_and_other_currency_products_are_refused(shop: Shop) -> None:
    me, ids = await _setup(shop)
    await shop.carts.add(me, ids["TEA"])
    with pytest.raises(ProductUnavailableError, match="EUR"):
        await shop.carts.add(me, ids["EUR"])
    await shop.catalog.set_active("CUP", False)
    with pytest.raises(ProductUnavailableError, match="no longer sold"):
        await shop.carts.add(me, ids["CUP"])


async def test_percent_and_fixed_promo_codes(shop: Shop) -> None:
    me, ids = await _setup(shop)
    await shop.promos.create("TEN", PromoKind.PERCENT, 10)
    await shop.promos.create("FIVE", PromoKind.FIXED, 500, currency="USD", min_total=3_000)
    await shop.carts.add(me, ids["TEA"], 2)  # 25.00

    cart = await shop.carts.apply_promo(me, " ten ")
    assert (cart.promo_code, cart.discount, cart.total) == ("TEN", 250, 2_250)

    with pytest.raises(PromoRejectedError) as raised:
        await shop.carts.apply_promo(me, "FIVE")
    assert (raised.value.problem, raised.value.minimum) == (PromoProblem.BELOW_MINIMUM, 3_000)
    await shop.carts.add(me, ids["CUP"])  # 33.00
    cart = await shop.carts.apply_promo(me, "FIVE")
    assert (cart.discount, cart.total) == (500, 2_800)

    # Dropping below the minimum keeps the code but stops the discount, and says why.
    cart = await shop.carts.remove(me, ids["CUP"])
    assert cart.discount == 0
    assert cart.promo_problem is not None
    assert cart.promo_problem.problem == PromoProblem.BELOW_MINIMUM


async def test_promo_validity_window_and_unknown_codes(shop: Shop, clock: FakeClock) -> None:
    me, ids = await _setup(shop)
    await shop.carts.add(me, ids["TEA"])
    await shop.promos.create(
        "SOON",
        PromoKind.PERCENT,
        5,
        starts_at=clock.now + timedelta(days=1),
        ends_at=clock.now + timedelta(days=2),
    )
    with pytest.raises(PromoRejectedError) as raised:
        await shop.carts.apply_promo(me, "SOON")
    assert raised.value.problem == PromoProblem.NOT_STARTED
    clock.advance(days=1)
    assert (await shop.carts.apply_promo(me, "SOON")).discount == 63  # 5% of 12.50, half up
    clock.advance(days=1)
    assert (await shop.carts.view(me)).promo_problem is not None
    with pytest.raises(PromoRejectedError) as raised:
        await shop.carts.apply_promo(me, "NOPE")
    assert raised.value.problem == PromoProblem.UNKNOWN


async def test_promo_once_per_customer_and_usage_limit(shop: Shop) -> None:
    me, ids = await _setup(shop)
    other = await shop.customers.touch(Channel.CONSOLE, "other")
    third = await shop.customers.touch(Channel.CONSOLE, "third")
    assert other.id is not None
    assert third.id is not None
    await shop.promos.create("ONCE", PromoKind.PERCENT, 20, usage_limit=2)

    for buyer in (me, other.id):
        await shop.carts.add(buyer, ids["TEA"])
        await shop.carts.apply_promo(buyer, "ONCE")
        order = await shop.orders.checkout(buyer, channel="console")
        assert order.discount == 250

    await shop.carts.add(me, ids["TEA"])
    with pytest.raises(PromoRejectedError) as raised:
        await shop.carts.apply_promo(me, "ONCE")
    assert raised.value.problem == PromoProblem.USED_UP
    await shop.carts.add(third.id, ids["TEA"])
    with pytest.raises(PromoRejectedError):
        await shop.carts.apply_promo(third.id, "ONCE")


async def test_a_promo_code_serves_one_customer_as_often_as_it_says(shop: Shop) -> None:
    me, ids = await _setup(shop)
    await shop.promos.create("TWICE", PromoKind.PERCENT, 10, per_customer=2)
    await shop.promos.create("ALWAYS", PromoKind.PERCENT, 10, per_customer=None)
    orders = []
    for _ in range(2):
        await shop.carts.add(me, ids["TEA"])
        await shop.carts.apply_promo(me, "TWICE")
        orders.append(await shop.orders.checkout(me, channel="console"))
    assert [order.discount for order in orders] == [125, 125]

    await shop.carts.add(me, ids["TEA"])
    with pytest.raises(PromoRejectedError) as raised:
        await shop.carts.apply_promo(me, "TWICE")
    assert raised.value.problem == PromoProblem.ALREADY_USED
    # An order cancelled before payment gives its use back.
    await shop.orders.transition(orders[0].id, OrderStatus.CANCELLED, actor="customer")
    assert (await shop.carts.apply_promo(me, "TWICE")).discount == 125
    for _ in range(3):
        await shop.carts.apply_promo(me, "ALWAYS")
        assert (await shop.orders.checkout(me, channel="console")).discount == 125
        await shop.carts.add(me, ids["TEA"])


async def test_cancelled_order_gives_its_promo_use_back(shop: Shop) -> None:
    me, ids = await _setup(shop)
    await shop.promos.create("ONE", PromoKind.PERCENT, 10, usage_limit=1)
    await shop.carts.add(me, ids["TEA"])
    await shop.carts.apply_promo(me, "ONE")
    order = await shop.orders.checkout(me, channel="console")
    await shop.orders.transition(order.id, OrderStatus.CANCELLED, actor="customer")

    await shop.carts.add(me, ids["TEA"])
    assert (await shop.carts.apply_promo(me, "ONE")).discount == 125
