"""Browsing: the categories, and a category's products page by page, edited in place."""

from __future__ import annotations

from collections.abc import Sequence

from bot.flows import actions as a
from bot.flows.common import ints, menu_button
from bot.flows.context import Ctx
from bot.flows.errors import StaleInputError
from bot.flows.labels import distinct_titles
from bot.flows.router import FlowRouter
from bot.flows.types import Button, Reply, Text
from shop.search_index import SearchDoc
from shop.views import ProductView

router = FlowRouter("catalog")

PER_PAGE = 8
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
        rows.append(_pager(a.CATALOG, "", page, pages))
    rows.append([menu_button(ctx)])
    return [ctx.text(ctx._("Choose a category:"), rows)]


@router.press(a.CATEGORY)
async def show_category(ctx: Ctx, arg: str) -> list[Reply]:
    """Show one page of a category's products."""
    category_id, page = ints(arg, 2)
    return [await category_page(ctx, category_id, max(page, 1))]


async def category_page(ctx: Ctx, category_id: int, page: int) -> Text:
    """Return a page of a category: a button per product, previous and next pages."""
    found = await ctx.shop.catalog.category_page(category_id, page, PER_PAGE)
    category = found.category
    if category is None or not found.items:  # gone, or no active products left on it
        raise StaleInputError(category_id)
    rows = [[button] for button in product_buttons(ctx, found.items, found.page)]
    if found.pages > 1:
        rows.append(_pager(a.CATEGORY, f"{category_id}:", found.page, found.pages))
    rows.append([Button("« " + ctx._("Categories"), a.CATALOG), menu_button(ctx)])
    title = category.name_for(ctx.locale)
    body = ctx._("{category}: page {page} of {pages}").format(
        category=title, page=found.page, pages=found.pages
    )
    return ctx.text(body, rows)


def product_buttons(
    ctx: Ctx, products: Sequence[ProductView | SearchDoc], page: int
) -> list[Button]:
    """Return the buttons that open products' cards, shown together: titles told apart, prices, stock."""
    titles = distinct_titles([(p.title_for(ctx.locale), p.sku) for p in products])
    return [_product_button(ctx, p, title, page) for p, title in zip(products, titles, strict=True)]


def _product_button(ctx: Ctx, product: ProductView | SearchDoc, title: str, page: int) -> Button:
    """Return the button that opens a product's card: its title, price and availability.

    A search result's own record will do: the index follows prices and sell-outs
    within a second, and the card it opens is read afresh.
    """
    money = ctx.money(product.price, product.currency)
    label = f"{title} · {money}"
    if isinstance(product, SearchDoc):
        product_id, in_stock = product.product_id, product.in_stock
    else:
        product_id, in_stock = product.id, product.stock > 0
    if not in_stock:
        label += " · " + ctx._("out of stock")
    return Button(label, a.PRODUCT, f"{product_id}:1:{page}")


def _pager(action: str, prefix: str, page: int, pages: int) -> list[Button]:
    """Return the row: previous page, "page/pages", next page."""
    row = []
    if page > 1:
        row.append(Button("‹", action, f"{prefix}{page - 1}"))
    row.append(Button(f"{page}/{pages}", a.NOOP))
    if page < pages:
        row.append(Button("›", action, f"{prefix}{page + 1}"))
    return row
