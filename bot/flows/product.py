"""The product card: photo, price in the customer's money, stock, quantity, add to cart, Buy now.

A sold-out product's card offers "Notify me" instead (shop/stock_alerts.py); every
card, products often bought with it (bot/flows/together.py). A product with several
photos pages through them on its card ("‹ 2/5 ›", in place where the channel edits)
and sends them all full size on request, as an album.
"""

from __future__ import annotations

from bot.flows import actions as a
from bot.flows.common import cart_button_for, clip, ints
from bot.flows.context import Ctx
from bot.flows.errors import StaleInputError
from bot.flows.experiments import buy_buttons
from bot.flows.lists import back_button
from bot.flows.router import FlowRouter
from bot.flows.together import together_rows
from bot.flows.types import Album, Button, Image, Reply, Text
from shop.analytics import EventKind
from shop.carts import MAX_QUANTITY, CartView
from shop.views import ProductView

router = FlowRouter("product")

DESCRIPTION_WIDTH = 500  # a photo's caption holds 1024 characters on Telegram


@router.press(a.PRODUCT)
async def show_product(ctx: Ctx, arg: str) -> list[Reply]:
    """Open a product's card, or change the quantity shown on it."""
    product_id, quantity, list_id = ints(arg, 3)
    product = await live_product(ctx, product_id)
    if quantity <= 1:  # opened (quantity changes are not views)
        await ctx.record(EventKind.VIEW, product_id=product.id)
    return [await product_card(ctx, product, quantity, list_id)]


@router.press(a.ADD)
async def add_to_cart(ctx: Ctx, arg: str) -> list[Reply]:
    """Put the chosen quantity of a product in the cart and show the card again."""
    product_id, quantity, list_id = ints(arg, 3)
    product = await live_product(ctx, product_id)
    quantity = max(1, min(quantity, MAX_QUANTITY))
    cart = await ctx.shop.carts.add(ctx.customer_id, product.id, quantity, visit=ctx.visit)
    note = ctx.ngettext(
        "✅ Added {n} unit to the cart.", "✅ Added {n} units to the cart.", quantity
    ).format(n=quantity)
    return [await product_card(ctx, product, 1, list_id, note=note, cart=cart)]


@router.press(a.NOTIFY)
async def notify_me(ctx: Ctx, arg: str) -> list[Reply]:
    """Ask to be told once when a sold-out product is back, and show its card saying so."""
    product_id, list_id = ints(arg, 2)
    product = await live_product(ctx, product_id)
    if product.stock == 0:  # else it came back since the card was shown: the card says so
        await ctx.shop.stock_alerts.ask(ctx.customer_id, product.id)
    return [await product_card(ctx, product, 1, list_id)]


@router.press(a.PHOTO)
async def show_photo(ctx: Ctx, arg: str) -> list[Reply]:
    """Show the card with another of the product's photos."""
    product_id, number, list_id = ints(arg, 3)
    product = await live_product(ctx, product_id)
    return [await product_card(ctx, product, 1, list_id, photo=number)]


@router.press(a.PHOTOS)
async def all_photos(ctx: Ctx, arg: str) -> list[Reply]:
    """Send every photo of a product full size, together, under the card."""
    (product_id,) = ints(arg, 1)
    product = await live_product(ctx, product_id)
    if not product.photos:  # taken away since the card was shown: the card says what is left
        return [await product_card(ctx, product, 1, 0)]
    return [Album(product.photos, product.title_for(ctx.locale))]


def gallery_rows(ctx: Ctx, product: ProductView, shown: int, list_id: int) -> list[list[Button]]:
    """Return the rows that list_id through a product's photos and send them all: none for one."""
    count = len(product.photos)
    if count < 2:
        return []
    pid = product.id
    before, after = (shown - 2) % count + 1, shown % count + 1  # round and round
    return [
        [
            Button("‹", a.PHOTO, f"{pid}:{before}:{list_id}"),
            Button(f"{shown}/{count}", a.NOOP),
            Button("›", a.PHOTO, f"{pid}:{after}:{list_id}"),
        ],
        [Button("🖼 " + ctx._("All photos ({n})").format(n=count), a.PHOTOS, str(pid))],
    ]


async def live_product(ctx: Ctx, product_id: int) -> ProductView:
    """Return a product still on sale, or refuse a button that points at another."""
    product = await ctx.shop.catalog.product(product_id)
    if product is None or not product.active:
        raise StaleInputError(product_id)
    return product


async def product_card(
    ctx: Ctx,
    product: ProductView,
    quantity: int,
    list_id: int,
    *,
    note: str = "",
    cart: CartView | None = None,
    photo: int = 1,
) -> Image | Text:
    """Return the card of a product: its `photo`-th photo (from 1) with a caption when it has one."""
    photos = product.photos
    shown = min(max(photo, 1), len(photos))  # a forged or outdated number: the nearest photo
    cart = cart or await ctx.shop.carts.view(ctx.customer_id)
    in_cart = sum(line.quantity for line in cart.lines if line.product.id == product.id)
    most = max(1, min(product.stock - in_cart, MAX_QUANTITY))
    quantity = max(1, min(quantity, most))
    lines = [
        f"{product.title_for(ctx.locale)}",
        ctx.money(product.price, product.currency),
        ctx._("In stock: {n}").format(n=product.stock)
        if product.stock > 0
        else ctx._("Out of stock"),
    ]
    description = product.description_for(ctx.locale)
    if description:
        lines.append("")
        lines.append(clip(description, DESCRIPTION_WIDTH))
    if in_cart:
        lines.append("")
        lines.append(ctx._("In your cart: {n}").format(n=in_cart))
    if note:
        lines.append(note)
    rows = gallery_rows(ctx, product, shown, list_id)
    if product.stock == 0:
        if await ctx.shop.stock_alerts.asked(ctx.customer_id, product.id):
            lines.append("🔔 " + ctx._("We'll tell you when it's back in stock."))
        else:
            label = "🔔 " + ctx._("Notify me when it's back")
            rows.append([Button(label, a.NOTIFY, f"{product.id}:{list_id}")])
    caption = "\n".join(lines)
    if product.stock > in_cart:
        pid = product.id
        rows.append(
            [
                Button("−", a.PRODUCT, f"{pid}:{quantity - 1}:{list_id}")
                if quantity > 1
                else Button(" ", a.NOOP),
                Button(f"{quantity}", a.NOOP),
                Button("+", a.PRODUCT, f"{pid}:{quantity + 1}:{list_id}")
                if quantity < most
                else Button(" ", a.NOOP),
            ]
        )
        buy = await buy_buttons(ctx)  # what A/B experiments vary
        rows.append([Button("🛒 " + buy.add_label, a.ADD, f"{pid}:{quantity}:{list_id}")])
        if buy.buy_now:
            rows[-1].append(Button("⚡ " + ctx._("Buy now"), a.BUY_NOW, f"{pid}:{quantity}"))
    rows.extend(await together_rows(ctx, [product.id], exclude=[product.id]))
    rows.append([cart_button_for(ctx, cart.units), back_button(ctx, product, list_id)])
    if photos:
        return Image(photos[shown - 1], caption, rows, edit=ctx.replaces)
    return ctx.text(caption, rows)
