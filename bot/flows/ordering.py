"""Placing an order: the whole cart, or one product bought at once ("Buy now") beside the cart."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Sequence

from bot.flows.context import Ctx
from shop.errors import ShopError
from shop.orders import Contact
from shop.views import OrderView


async def place_order(
    ctx: Ctx,
    *,
    contact: Contact | None,
    delivery: str,
    address: str | None,
    only: Sequence[int] | None = None,
) -> OrderView:
    """Turn the cart into an order, or with `only` = (product id, quantity) just that product.

    For "Buy now" the rest of the cart is set aside while the order is placed and put
    back afterwards, with its promo code, whether the order succeeds or not. (The
    customer's events are handled one at a time, so nothing else sees the cart meanwhile.)
    """
    carts, customer_id = ctx.shop.carts, ctx.customer_id

    async def checkout() -> OrderView:
        return await ctx.shop.orders.checkout(
            customer_id,
            channel=ctx.who.channel.value,
            source=ctx.source,
            contact=contact,
            delivery=delivery,
            address=address,
        )

    if only is None:
        return await checkout()
    product_id, quantity = only
    cart = await carts.view(customer_id)
    await carts.clear(customer_id)
    try:
        await carts.add(customer_id, product_id, quantity)
        if cart.promo_code:
            await _unless_refused(carts.apply_promo(customer_id, cart.promo_code))
        return await checkout()
    finally:
        await carts.clear(customer_id)
        for line in cart.lines:
            await _unless_refused(carts.add(customer_id, line.product.id, line.quantity))
        if cart.promo_code:
            await _unless_refused(carts.apply_promo(customer_id, cart.promo_code))


async def _unless_refused(change: Awaitable[object]) -> None:
    """Await a cart change that may fairly be refused now (sold out meanwhile, a code used up)."""
    with contextlib.suppress(ShopError):
        await change
