"""Often bought together: buttons under a product's card or the cart that open other products.

What is offered, and why, is shop/together.py's; this only shows it, under a heading
line that says whether it comes from what customers bought together or from the
best sellers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from bot.flows import actions as a
from bot.flows.common import clip
from bot.flows.context import Ctx
from bot.flows.types import Button

TITLE_WIDTH = 32  # a button's label holds the title and the price on one line


async def together_rows(
    ctx: Ctx, product_ids: Sequence[int], exclude: Collection[int]
) -> list[list[Button]]:
    """Return a heading and a button per product to suggest with `product_ids`, or no rows."""
    found = await ctx.shop.together.suggest(product_ids, exclude)
    if not found:
        return []
    if any(suggestion.together for suggestion in found):
        heading = "🤝 " + ctx._("Often bought together")
    else:
        heading = "⭐ " + ctx._("Best sellers")
    rows = [[Button(heading, a.NOOP)]]
    for suggestion in found:
        product = suggestion.product
        title = clip(product.title_for(ctx.locale), TITLE_WIDTH)
        label = f"{title} — {ctx.money(product.price, product.currency)}"
        rows.append([Button(label, a.PRODUCT, str(product.id))])
    return rows
