"""Every flow's router, combined in one visible order."""

from __future__ import annotations

from bot.flows import (
    browse,
    cart,
    catalog,
    checkout,
    consent,
    help,
    language,
    menu,
    orders,
    payment,
    product,
    search,
    start,
)
from bot.flows.router import Routes

ROUTERS = (
    start.router,
    menu.router,
    catalog.router,
    browse.router,
    product.router,
    search.router,
    cart.router,
    checkout.router,
    payment.router,
    orders.router,
    language.router,
    help.router,
    consent.router,
)


def all_routes() -> Routes:
    """Return the handlers of every flow, each key answered once."""
    return Routes.combine(ROUTERS)
