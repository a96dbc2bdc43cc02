"""Refusals: what the customer is told when an event cannot be served, in their language.

A handler raises; the engine keeps the state as it was and sends these replies.
Nothing here ever shows a stack trace or another customer's data.
"""

from __future__ import annotations

import logging

from bot.flows import actions as a
from bot.flows.context import Ctx
from bot.flows.types import Button, Reply
from payments.interface import PaymentError
from shop.errors import (
    CartEmptyError,
    NotFoundError,
    OutOfStockError,
    ProductUnavailableError,
    PromoProblem,
    PromoRejectedError,
    ShopError,
)
from shop.i18n import N_
from shop.pricing import UnknownDeliveryError

log = logging.getLogger(__name__)


class StaleInputError(Exception):
    """A button or answer that no longer fits: forged, from an old message, or out of place."""


def explain(ctx: Ctx, error: Exception) -> list[Reply]:
    """Return the polite answer to a refused or failed event."""
    menu = [[Button(ctx._("Menu"), a.MENU)], [Button(ctx._("Cart"), a.CART)]]
    if isinstance(error, StaleInputError | UnknownDeliveryError):
        body = ctx._("Sorry, that button is out of date. Here is the menu.")
    elif isinstance(error, NotFoundError):
        body = ctx._("Sorry, I can't find that any more. It may have been removed.")
    elif isinstance(error, OutOfStockError):
        body = "\n".join(
            ctx._("Sorry, {title} is out of stock.").format(title=short.title)
            if short.available == 0
            else ctx.ngettext(
                "Sorry, only {n} unit of {title} is left.",
                "Sorry, only {n} units of {title} are left.",
                short.available,
            ).format(n=short.available, title=short.title)
            for short in error.shortages
        )
    elif isinstance(error, ProductUnavailableError):
        body = ctx._("Sorry, that product can't be bought now ({sku}).").format(sku=error.sku)
    elif isinstance(error, PromoRejectedError):
        body = promo_problem(ctx, error)
    elif isinstance(error, CartEmptyError):
        body = ctx._("Your cart is empty.")
    elif isinstance(error, PaymentError):
        body = ctx._("Sorry, this order can't be paid now. Try again in a moment from My orders.")
    elif isinstance(error, ShopError):
        body = ctx._("Sorry, that can't be done now.")
    else:
        log.exception("a flow failed for customer %s", ctx.customer.id, exc_info=error)
        body = ctx._("Sorry, something went wrong on our side. Please try again.")
    return [ctx.text(body, menu, edit=False)]


_PROMO_PROBLEMS = {
    PromoProblem.UNKNOWN: N_("There is no promo code {code}."),
    PromoProblem.NOT_STARTED: N_("Promo code {code} isn't active yet."),
    PromoProblem.EXPIRED: N_("Promo code {code} has expired."),
    PromoProblem.USED_UP: N_("Promo code {code} has been used up."),
    PromoProblem.ALREADY_USED: N_("You have already used promo code {code}."),
    PromoProblem.BELOW_MINIMUM: N_("Promo code {code} works for orders from {minimum}."),
    PromoProblem.WRONG_CURRENCY: N_("Promo code {code} doesn't work with these prices."),
}


def promo_problem(ctx: Ctx, error: PromoRejectedError) -> str:
    """Return why a promo code does not apply, in words."""
    minimum = ctx.money(error.minimum or 0, ctx.shop.settings.shop_currency)
    return ctx._(_PROMO_PROBLEMS[error.problem]).format(code=error.code, minimum=minimum)
