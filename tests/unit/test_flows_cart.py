"""The cart: quantities, remove, clear, promo codes and totals, in both languages."""

from __future__ import annotations

from bot.services import Shop
from shop.models import PromoKind
from tests.flow_support import Chat, chat, engine


async def _with_tea(shop: Shop) -> Chat:
    customer = chat(shop, engine(shop))
    await customer.command("start", "p-TEA-1")
    await customer.tap("Add to cart")
    await customer.command("start", "p-TEA-2")
    await customer.tap("+")
    await customer.tap("Add to cart")
    await customer.command("cart")
    return customer


async def test_the_cart_lists_lines_and_totals(stocked: Shop) -> None:
    ann = await _with_tea(stocked)
    assert ann.text.splitlines()[:4] == [
        "Your cart: 3 items",
        "",
        "1. Green tea × 1 — $10.00",
        "2. Black tea × 2 — $25.00",
    ]
    assert "Total: $35.00" in ann.text


async def test_plus_minus_and_remove_change_the_lines(stocked: Shop) -> None:
    ann = await _with_tea(stocked)
    await ann.tap("+")  # the first line's
    assert "1. Green tea × 2 — $20.00" in ann.text
    await ann.tap("−")
    await ann.tap("−")
    assert "Green tea" not in ann.text
    assert "Your cart: 2 items" in ann.text
    await ann.tap("✕")
    assert "Your cart is empty." in ann.text


async def test_more_than_is_in_stock_is_refused_politely_and_nothing_changes(
    stocked: Shop,
) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("start", "p-CUP")
    for _ in range(2):
        await ann.tap("+")
    await ann.tap("Add to cart")
    await ann.command("cart")
    await ann.tap("+")
    assert ann.text == "Sorry, only 3 units of Cup are left."
    await ann.command("cart")
    assert "Cup × 3" in ann.text


async def test_clear_empties_the_cart(stocked: Shop) -> None:
    ann = await _with_tea(stocked)
    await ann.tap("Clear")
    assert "Your cart is empty." in ann.text
    assert any("Catalog" in label for label in ann.labels)


async def test_a_promo_code_is_typed_and_shows_as_a_discount(stocked: Shop) -> None:
    await stocked.promos.create("TEA5", PromoKind.FIXED, 500, currency="USD", min_total=2_000)
    ann = await _with_tea(stocked)
    await ann.tap("Promo code")
    assert "Type your promo code." in ann.text
    await ann.say("nope")
    assert "There is no promo code NOPE." in ann.text
    await ann.say(" tea5 ")
    assert "Promo code TEA5 applied." in ann.text
    assert "Subtotal: $35.00" in ann.text
    assert "Promo code TEA5: −$5.00" in ann.text
    assert "Total: $30.00" in ann.text
    # Below the code's minimum the cart says why the discount is gone.
    await ann.tap("✕")  # the green tea: $25.00 is left, still enough
    assert "Total: $20.00" in ann.text
    await ann.tap("−")  # one black tea: $12.50
    assert "Promo code TEA5 works for orders from $20.00." in ann.text
    assert "Total: $12.50" in ann.text


async def test_russian_plurals_in_the_cart(stocked: Shop) -> None:
    olga = chat(stocked, engine(stocked), user="2002", language_code="ru")
    await olga.command("start", "p-TEA-2")
    await olga.tap("В корзину")
    await olga.command("cart")
    assert olga.text.startswith("Ваша корзина: 1 товар\n")
    for wanted, heading in ((3, "3 товара"), (5, "5 товаров"), (21, "21 товар"), (22, "22 товара")):
        product = await stocked.catalog.product_by_sku("TEA-2")
        assert product is not None
        customer = await olga.customer()
        await stocked.carts.set_quantity(customer.id or 0, product.id, wanted)
        await olga.command("cart")
        assert olga.text.startswith(f"Ваша корзина: {heading}\n")
