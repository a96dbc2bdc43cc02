"""Browsing: the categories, and a category's products page by page (bot/flows/browse.py)."""

from __future__ import annotations

from bot.flows import actions as a
from bot.flows import lists
from bot.flows.browse import list_page
from bot.flows.common import ints, menu_button, pager
from bot.flows.context import Ctx
from bot.flows.router import FlowRouter
from bot.flows.types import Button, Reply, Text
from shop.filters import Filters

router = FlowRouter("catalog")

CATEGORIES_PER_PAGE = 10


@router.command("catalog")
@router.press(a.CATALOG)
async def show_categories(ctx: Ctx, arg: str) -> list[Reply]:
    """Show the shelves of the shop, with how many products each holds."""
    page = int(arg) if arg.isdecimal() and len(arg) < 6 else 1  # a command's text is no page
    summaries = await ctx.shop.catalog.categories()
    if not summaries:
        return [ctx.text(ctx._("The shop has nothing on sale yet."), [[menu_button(ctx)]])]
    pages = (len(summaries) + CATEGORIES_PER_PAGE - 1) // CATEGORIES_PER_PAGE
    page = min(max(page, 1), pages)
    shown = summaries[(page - 1) * CATEGORIES_PER_PAGE : page * CATEGORIES_PER_PAGE]
    rows: list[list[Button]] = [
        [
            Button(
                f"{s.category.name_for(ctx.locale)} ({s.products})",
                a.CATEGORY,
                f"{s.category.id}:1",
            )
        ]
        for s in shown
    ]
    if pages > 1:
        rows.append(pager(ctx, a.CATALOG, "", page, pages))
    rows.append([menu_button(ctx)])
    return [ctx.text(ctx._("Choose a category:"), rows)]


@router.press(a.CATEGORY)
async def show_category(ctx: Ctx, arg: str) -> list[Reply]:
    """Show a page of a category's products, as a new list with no filters."""
    category_id, page = ints(arg, 2)
    return [await category_page(ctx, category_id, max(page, 1))]


async def category_page(ctx: Ctx, category_id: int, page: int) -> Text:
    """Return a page of a shelf, kept as the customer's latest list (bot/flows/browse.py)."""
    listing = lists.opened(ctx, "", Filters(category_id=category_id))
    return await list_page(ctx, listing, page)
