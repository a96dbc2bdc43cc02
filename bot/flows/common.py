"""Pieces several flows share: the main menu, the search button, a pager, reading button arguments."""

from __future__ import annotations

from bot.flows import actions as a
from bot.flows.context import Ctx
from bot.flows.errors import StaleInputError
from bot.flows.types import Button, Keyboard, Text

TITLE_WIDTH = 40


def ints(arg: str, count: int) -> list[int]:
    """Read `count` non-negative integers joined by ":" from a button's argument (missing ones are 0).

    Raises:
        StaleInputError: the argument is not of that form (forged or from an old version).
    """
    parts = arg.split(":") if arg else []
    if len(parts) > count or not all(part.isdecimal() and len(part) <= 9 for part in parts):
        raise StaleInputError(arg)
    numbers = [int(part) for part in parts]
    return numbers + [0] * (count - len(numbers))


def clip(text: str, width: int = TITLE_WIDTH) -> str:
    """Return `text` cut to `width` characters with an ellipsis."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def search_button(ctx: Ctx) -> Button:
    """Return the Search button: inline search in this chat where the channel has it, else a question."""
    label = "🔍 " + ctx._("Search")
    if ctx.who.can.inline_search:
        return Button(label, inline_query="")
    return Button(label, a.SEARCH)


def pager(ctx: Ctx, action: str, prefix: str, page: int, pages: int) -> list[Button]:
    """Return the row: previous page, "page/pages", next page ("More" where options are numbered)."""
    words = ctx.who.can.numbered_options
    row = []
    if page > 1:
        label = "‹ " + ctx._("Previous") if words else "‹"
        row.append(Button(label, action, f"{prefix}{page - 1}"))
    row.append(Button(f"{page}/{pages}", a.NOOP))
    if page < pages:
        label = ctx._("More") + " ›" if words else "›"
        row.append(Button(label, action, f"{prefix}{page + 1}"))
    return row


def menu_button(ctx: Ctx) -> Button:
    """Return the button back to the main menu."""
    return Button("🏠 " + ctx._("Menu"), a.MENU)


async def cart_button(ctx: Ctx) -> Button:
    """Return the Cart button, with how many units the cart holds."""
    return cart_button_for(ctx, (await ctx.shop.carts.view(ctx.customer_id)).units)


def cart_button_for(ctx: Ctx, units: int) -> Button:
    """Return the Cart button for a cart of `units` units."""
    label = "🛒 " + ctx._("Cart")
    return Button(f"{label} ({units})" if units else label, a.CART)


async def main_menu_keyboard(ctx: Ctx) -> Keyboard:
    """Return the main menu's buttons."""
    return (
        (Button("🛍 " + ctx._("Catalog"), a.CATALOG), search_button(ctx)),
        (await cart_button(ctx), Button("📦 " + ctx._("My orders"), a.ORDERS)),
        (Button("🌐 " + ctx._("Language"), a.LANGUAGE), Button("💬 " + ctx._("Help"), a.HELP)),
    )


async def main_menu(ctx: Ctx, intro: str = "") -> Text:
    """Return the main menu, after `intro` when given."""
    body = ctx._("What would you like to do?")
    return ctx.text(f"{intro}\n\n{body}" if intro else body, await main_menu_keyboard(ctx))
