"""Start: the greeting, or what a scanned code opens (a product, a category, a promo code).

The code's source (which poster or store) is kept for the visit (funnel events
and the order) and as the customer's first touch. A code that is unknown or
damaged opens the main menu with a friendly word, never an error.
"""

from __future__ import annotations

from bot.flows import consent, visits
from bot.flows.catalog import category_page
from bot.flows.common import main_menu
from bot.flows.context import Ctx, DeepLink
from bot.flows.errors import StaleInputError, promo_problem
from bot.flows.product import product_card
from bot.flows.router import FlowRouter
from bot.flows.types import Reply
from shop.analytics import EventKind
from shop.errors import PromoRejectedError
from shop.views import ProductView

router = FlowRouter("start")


@router.command("start")
async def start(ctx: Ctx, arg: str) -> list[Reply]:
    """Greet the customer, or open what their deep link points at; a customer who opted out is back in."""
    return [*await consent.resume(ctx), *await _open(ctx, arg)]


async def _open(ctx: Ctx, arg: str) -> list[Reply]:
    """Open the main menu, or what a deep link points at."""
    payload = arg.strip()
    link = await ctx.decode(payload) if payload else DeepLink()
    product = None
    if link is not None and link.product_sku:
        product = await ctx.shop.catalog.product_by_sku(link.product_sku)
        if product is None:  # a damaged code can read as a hand-written link to no product
            link = None
    if link is None:
        return await _unreadable(ctx)
    # A start begins a visit: credited to the code's source, else to a broadcast that
    # brought the customer (bot/flows/visits.py), else to none.
    ctx.state.data.pop("source", None)
    if link.source:
        ctx.state.data["source"] = link.source
        await ctx.shop.customers.touch(
            ctx.who.channel, ctx.who.external_id, source=link.source, inbound=False
        )
    else:
        visits.credit_broadcast(ctx)
    visits.mark(
        ctx, await ctx.record(EventKind.START, data={"payload": payload} if payload else None)
    )
    if link.source:  # a scan of a code printed for this source (`chatshop report qr` counts them)
        await ctx.record(EventKind.SOURCE, data={"payload": payload})
    if product is not None:
        return await _open_product(ctx, product)
    if link.category_id is not None or link.category_name:
        return await _open_category(ctx, link)
    if link.promo:
        return await _apply_promo(ctx, link.promo)
    return [await main_menu(ctx, _greeting(ctx))]


def _greeting(ctx: Ctx) -> str:
    name = ctx.who.display_name or ctx.customer.display_name
    if name:
        return ctx._("Hello, {name}! Welcome to the shop.").format(name=name)
    return ctx._("Hello! Welcome to the shop.")


async def _unreadable(ctx: Ctx) -> list[Reply]:
    """Open the main menu for a code that leads nowhere: damaged, or never printed by this shop."""
    ctx.state.data.pop("source", None)  # a new visit, credited to no code
    visits.credit_broadcast(ctx)
    visits.mark(ctx, await ctx.record(EventKind.START, data={"payload": "unknown"}))
    intro = ctx._("Hello! I couldn't read that code, but here is the whole shop.")
    return [await main_menu(ctx, intro)]


async def _open_product(ctx: Ctx, product: ProductView) -> list[Reply]:
    if not product.active:
        intro = ctx._("Sorry, that product is no longer sold. Have a look at the rest of the shop.")
        return [await main_menu(ctx, intro)]
    await ctx.record(EventKind.VIEW, product_id=product.id)
    return [await product_card(ctx, product, 1, 0)]


async def _open_category(ctx: Ctx, link: DeepLink) -> list[Reply]:
    category_id = link.category_id
    if category_id is None:
        for summary in await ctx.shop.catalog.categories():
            if summary.category.name == link.category_name:
                category_id = summary.category.id
    if category_id is not None:
        try:
            return [await category_page(ctx, category_id, 1)]
        except StaleInputError:
            pass  # the shelf is gone or empty: the menu below
    intro = ctx._("Sorry, that part of the shop is empty now. Have a look at the rest.")
    return [await main_menu(ctx, intro)]


async def _apply_promo(ctx: Ctx, code: str) -> list[Reply]:
    try:
        cart = await ctx.shop.carts.apply_promo(ctx.customer_id, code)
    except PromoRejectedError as rejected:
        return [await main_menu(ctx, promo_problem(ctx, rejected))]
    intro = ctx._("Promo code {code} is in your cart: the discount applies at checkout.")
    return [await main_menu(ctx, intro.format(code=cart.promo_code))]
