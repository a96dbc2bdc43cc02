"""The cart: quantities up and down, remove, clear, a promo code, and the totals with the discount."""

from __future__ import annotations

from collections.abc import Sequence

from bot.flows import actions as a
from bot.flows.common import ints, menu_button, search_button
from bot.flows.context import Ctx
from bot.flows.errors import StaleInputError, promo_problem
from bot.flows.experiments import cart_offer
from bot.flows.labels import distinct_titles
from bot.flows.router import FlowRouter
from bot.flows.together import together_rows
from bot.flows.types import Button, Reply, Text
from shop.analytics import EventKind
from shop.carts import MAX_QUANTITY, CartView
from shop.errors import PromoRejectedError

router = FlowRouter("cart")

ASKING_PROMO = "cart.promo"
CODE_WIDTH = 32
CART_TITLE_WIDTH = 16  # a cart row holds four buttons: −, the product, +, ✕


@router.command("cart")
@router.press(a.CART)
async def show_cart(ctx: Ctx, _arg: str) -> list[Reply]:
    """Show the cart."""
    return [await cart_reply(ctx, await ctx.shop.carts.view(ctx.customer_id))]


@router.press(a.CART_SET)
async def set_quantity(ctx: Ctx, arg: str) -> list[Reply]:
    """Change how many of a product the cart holds; zero takes it out."""
    product_id, quantity = ints(arg, 2)
    cart = await ctx.shop.carts.view(ctx.customer_id)
    if all(line.product.id != product_id for line in cart.lines):
        raise StaleInputError(product_id)  # a button of a line already gone
    quantity = min(quantity, MAX_QUANTITY)
    cart = await ctx.shop.carts.set_quantity(ctx.customer_id, product_id, quantity)
    if quantity == 0:
        await ctx.record(EventKind.REMOVE_FROM_CART, product_id=product_id)
    return [await cart_reply(ctx, cart)]


@router.press(a.CART_CLEAR)
async def clear_cart(ctx: Ctx, _arg: str) -> list[Reply]:
    """Empty the cart."""
    return [await cart_reply(ctx, await ctx.shop.carts.clear(ctx.customer_id))]


@router.press(a.PROMO)
async def ask_promo(ctx: Ctx, _arg: str) -> list[Reply]:
    """Ask for a promo code."""
    ctx.state.step = ASKING_PROMO
    body = ctx._("Type your promo code.")
    return [ctx.text(body, [[Button("« " + ctx._("Back to the cart"), a.CART)]], edit=False)]


@router.step(ASKING_PROMO)
async def apply_promo(ctx: Ctx, text: str) -> list[Reply]:
    """Apply a typed promo code, or say why it does not apply and wait for another."""
    code = text.strip()[:CODE_WIDTH]
    try:
        cart = await ctx.shop.carts.apply_promo(ctx.customer_id, code)
    except PromoRejectedError as rejected:
        again = ctx._("Try another code, or go back to the cart.")
        back = [[Button("« " + ctx._("Back to the cart"), a.CART)]]
        return [ctx.text(f"{promo_problem(ctx, rejected)}\n{again}", back)]
    ctx.state.step = ""
    note = ctx._("Promo code {code} applied.").format(code=cart.promo_code)
    return [await cart_reply(ctx, cart, note=note, edit=False)]


@router.press(a.PROMO_OFFER)
async def take_offer(ctx: Ctx, _arg: str) -> list[Reply]:
    """Apply the promo code the cart offers, as if the customer had typed it."""
    code = await cart_offer(ctx)
    if code is None:
        raise StaleInputError(a.PROMO_OFFER)  # the experiment that offered it has ended
    ctx.state.step = ASKING_PROMO
    return await apply_promo(ctx, code)


async def cart_reply(ctx: Ctx, cart: CartView, *, note: str = "", edit: bool | None = None) -> Text:
    """Return the cart as a message, with the promo code an experiment offers this customer.

    Under its lines, products often bought with what it holds (bot/flows/together.py).
    """
    offer = await cart_offer(ctx) if cart.lines and cart.promo_code is None else None
    held = [line.product.id for line in cart.lines]
    suggested = await together_rows(ctx, held, exclude=held)
    return cart_message(ctx, cart, note=note, edit=edit, offer=offer, suggested=suggested)


def cart_message(
    ctx: Ctx,
    cart: CartView,
    *,
    note: str = "",
    edit: bool | None = None,
    offer: str | None = None,
    suggested: Sequence[list[Button]] = (),
) -> Text:
    """Return the cart as a message: lines, totals, and a row of buttons per line.

    With `offer`, a promo code is suggested with a button that applies it; `suggested`
    rows (other products to open) come under the lines.
    """
    if not cart.lines:
        body = ctx._("Your cart is empty.")
        empty = [[Button("🛍 " + ctx._("Catalog"), a.CATALOG), search_button(ctx)]]
        empty.append([menu_button(ctx)])
        return ctx.text(f"{note}\n{body}" if note else body, empty, edit=edit)
    currency = cart.currency or ctx.shop.settings.shop_currency
    heading = ctx.ngettext("Your cart: {n} item", "Your cart: {n} items", cart.units).format(
        n=cart.units
    )
    lines = [heading, ""]
    rows: list[list[Button]] = []
    shown = distinct_titles(
        [(line.product.title_for(ctx.locale), line.product.sku) for line in cart.lines],
        CART_TITLE_WIDTH,
    )
    for number, (line, short) in enumerate(zip(cart.lines, shown, strict=True), start=1):
        product = line.product
        title = product.title_for(ctx.locale)
        amount = ctx.money(line.total, currency)
        lines.append(f"{number}. {title} × {line.quantity} — {amount}")
        pid = product.id
        rows.append(
            [
                Button("−", a.CART_SET, f"{pid}:{line.quantity - 1}"),
                Button(f"{number}. {short} × {line.quantity}", a.PRODUCT, f"{pid}:1:0"),
                Button("+", a.CART_SET, f"{pid}:{line.quantity + 1}"),
                Button("✕", a.CART_SET, f"{pid}:0"),
            ]
        )
    lines.append("")
    if cart.discount:
        lines.append(ctx._("Subtotal: {amount}").format(amount=ctx.money(cart.subtotal, currency)))
        lines.append(
            ctx._("Promo code {code}: −{amount}").format(
                code=cart.promo_code, amount=ctx.money(cart.discount, currency)
            )
        )
    elif cart.promo_problem is not None:
        lines.append(promo_problem(ctx, cart.promo_problem))
    lines.append(ctx._("Total: {amount}").format(amount=ctx.money(cart.total, currency)))
    lines.append(ctx._("Delivery is chosen at checkout."))
    if offer is not None:
        lines.extend(["", "🎁 " + ctx._("A gift for you: promo code {code}.").format(code=offer)])
        rows.append([Button("🎁 " + ctx._("Use {code}").format(code=offer), a.PROMO_OFFER)])
    if note:
        lines.extend(["", note])
    rows.extend(suggested)
    rows.append(
        [
            Button("🎟 " + ctx._("Promo code"), a.PROMO),
            Button("🗑 " + ctx._("Clear"), a.CART_CLEAR),
        ]
    )
    rows.append([Button("✅ " + ctx._("Checkout"), a.CHECKOUT)])
    rows.append([menu_button(ctx)])
    return ctx.text("\n".join(lines), rows, edit=edit)
