"""What A/B experiments (shop/experiments.py) change in the flows: the card's buy buttons, the cart's offer.

Each asks the shop for the customer's variant where the customer sees the thing
varied, so that asking records the exposure; with no experiment running, the shop
looks as it always does.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.flows.context import Ctx
from shop.experiments import HIDDEN, OFFER, CtaWording, Thing
from shop.i18n import N_

CTA_WORDINGS = {
    CtaWording.ADD_TO_CART: N_("Add to cart"),
    CtaWording.GET_IT_NOW: N_("Get it now"),
    CtaWording.TAKE_IT: N_("I'll take it"),
    CtaWording.WANT_IT: N_("I want it"),
}


@dataclass(frozen=True, slots=True)
class BuyButtons:
    """How the product card offers to buy: the add-to-cart wording, and whether "Buy now" is there."""

    add_label: str
    buy_now: bool


async def buy_buttons(ctx: Ctx) -> BuyButtons:
    """Return the product card's buy buttons as this customer's variants have them."""
    cta = await ctx.shop.experiments.expose(Thing.CTA, ctx.customer, ctx.visit)
    buy_now = await ctx.shop.experiments.expose(Thing.BUY_NOW, ctx.customer, ctx.visit)
    wording = CtaWording(cta.variant) if cta is not None else CtaWording.ADD_TO_CART
    return BuyButtons(
        add_label=ctx._(CTA_WORDINGS[wording]),
        buy_now=buy_now is None or buy_now.variant != HIDDEN,
    )


async def cart_offer(ctx: Ctx) -> str | None:
    """Return the promo code to offer in this customer's cart, if their variant offers one."""
    offer = await ctx.shop.experiments.expose(Thing.CART_PROMO, ctx.customer, ctx.visit)
    return offer.promo_code if offer is not None and offer.variant == OFFER else None
