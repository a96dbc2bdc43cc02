"""A hand-built order history for "often bought together", written through the real services."""

from __future__ import annotations

from collections.abc import Sequence

from bot.services import Shop
from shop.models import Channel, OrderStatus
from tests.conftest import row

# Imported in this order, so ids rise down the list: ties go to the one lower down.
KITCHEN = ["KETTLE", "TEA", "CUP", "HONEY", "SPOON", "LEMON", "JAM"]
BOOKS = ["BOOK", "NOVEL", "ATLAS"]


async def stock_kitchen_and_books(shop: Shop) -> None:
    """Put the kitchen and the books on sale, plenty of each."""
    await shop.catalog.import_rows(
        [
            row(sku, title=sku.title(), stock=100, category="Kitchen", titles={"ru": f"{sku} ru"})
            for sku in KITCHEN
        ]
        + [row(sku, title=sku.title(), stock=100, category="Books") for sku in BOOKS]
    )


async def product_id(shop: Shop, sku: str) -> int:
    """Return the id of the product with this sku."""
    product = await shop.catalog.product_by_sku(sku)
    assert product is not None
    return product.id


async def place(
    shop: Shop,
    buyer: str,
    skus: Sequence[str],
    *,
    paid: bool = True,
    channel: Channel = Channel.TELEGRAM,
) -> int:
    """Check out one of each sku as `buyer` (paid unless told otherwise); return the order's id."""
    customer = await shop.customers.touch(channel, buyer)
    for sku in skus:
        await shop.carts.add(customer.id, await product_id(shop, sku))
    order = await shop.orders.checkout(customer.id, channel=channel.value)
    if paid:
        await shop.orders.confirm_payment(order.id)
    return order.id


async def refund(shop: Shop, order_id: int) -> None:
    """Refund a paid order, as staff do."""
    await shop.orders.transition(order_id, OrderStatus.REFUNDED)


async def buy_history(shop: Shop) -> None:
    """Write the history the tests expect suggestions from, folding half way through.

    With the kettle: tea in 2 paid orders, the cup in 2, the spoon in 1, honey in 1
    (a second is refunded after it was counted, a third never paid); the lemon and
    the jam in 3 each, but the lemon then sells out and the jam is taken off sale.
    The books are bought alone: the novel twice, the atlas once, the book never.
    """
    await place(shop, "ann", ["KETTLE", "TEA", "CUP"])
    await place(shop, "bob", ["KETTLE", "TEA"])
    await place(shop, "cid", ["KETTLE", "HONEY"])
    refunded = await place(shop, "fay", ["KETTLE", "HONEY"])
    await shop.together.fold()
    await refund(shop, refunded)
    await place(shop, "dan", ["KETTLE", "CUP", "SPOON"])
    await place(shop, "gus", ["KETTLE", "HONEY"], paid=False)
    for buyer in ("eve", "hal", "ian"):
        await place(shop, buyer, ["KETTLE", "LEMON", "JAM"])
    await place(shop, "ann", ["NOVEL"])
    await place(shop, "bob", ["NOVEL"], channel=Channel.WHATSAPP)
    await place(shop, "cid", ["ATLAS"])
    await shop.catalog.set_stock("LEMON", 0)
    await shop.catalog.set_active("JAM", False)
