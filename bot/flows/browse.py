"""Lists of products a page at a time: a shelf or a search's results, narrowed and sorted.

Every list is read through `SearchService.find` (one owner of filters and order)
and kept in the conversation state (bot/flows/lists.py). A list's page has its
products, a pager for as long as there are hits ("More" where options are
numbered), and "⚙️ Filters": a panel of sorts, in stock only, price bands drawn
from the list's own prices, and the attribute values its products hold (brand,
colour…), the active ones marked ✓. A choice applies at once and shows the list's
first page, in place where the channel edits. Typed phrases ("under 10",
"сначала дешёвые") change the same filters (bot/flows/search.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.flows import actions as a
from bot.flows import lists
from bot.flows.common import ints, menu_button, pager
from bot.flows.context import Ctx
from bot.flows.errors import StaleInputError
from bot.flows.labels import distinct_titles
from bot.flows.lists import Listing
from bot.flows.router import FlowRouter
from bot.flows.types import Button, Reply, Text
from shop.filters import Filters, Sort
from shop.i18n import N_
from shop.money import minor_digits
from shop.search_index import SearchDoc, SearchResult

router = FlowRouter("browse")

PER_PAGE = 8
BANDS = 4  # price bands on a filter panel, at most
FACETS_SHOWN = 2  # attributes offered on a filter panel
VALUES_SHOWN = 5  # values of each
MOST_PRICE_DIGITS = 13
SORT_LABELS = {
    Sort.RELEVANCE: N_("Recommended"),
    Sort.PRICE_UP: N_("Cheapest first"),
    Sort.PRICE_DOWN: N_("Most expensive first"),
    Sort.NEWEST: N_("Newest first"),
}
SORTS = tuple(SORT_LABELS)


@router.press(a.LIST)
async def show_list(ctx: Ctx, arg: str) -> list[Reply]:
    """Show a page of a list the customer browsed."""
    list_id, page = ints(arg, 2)
    return [await list_page(ctx, _kept(ctx, list_id), max(page, 1))]


@router.press(a.FILTERS)
async def show_filters(ctx: Ctx, arg: str) -> list[Reply]:
    """Show a list's filter panel: sorts, in stock only, price bands, attribute values."""
    (list_id,) = ints(arg, 1)
    return [await _filter_panel(ctx, _kept(ctx, list_id))]


@router.press(a.FILTER)
async def choose_filter(ctx: Ctx, arg: str) -> list[Reply]:
    """Apply a choice from a filter panel and show the list's first page."""
    head, _, choice = arg.partition(":")
    (list_id,) = ints(head, 1)
    listing = _kept(ctx, list_id)
    listing.filters = _chosen(listing, choice)
    return [await list_page(ctx, listing, 1)]


async def list_page(ctx: Ctx, listing: Listing, page: int) -> Text:
    """Return a page of a list: a button per product, the pager, Filters; the page is kept for Back.

    Raises:
        StaleInputError: a shelf that is gone or has nothing left on it.
    """
    return (await counted_page(ctx, listing, page))[0]


async def counted_page(ctx: Ctx, listing: Listing, page: int) -> tuple[Text, int]:
    """Return `list_page`'s page and how many products the whole list holds."""
    result = await _find(ctx, listing, page)
    pages = max(1, -(-result.total // PER_PAGE))
    if page > pages:  # fewer products than when the button was made: the last page there is
        page = pages
        result = await _find(ctx, listing, page)
    title = await _title(ctx, listing)
    if listing.filters.category_id is not None and not result.total and not listing.filters.narrows:
        raise StaleInputError(listing.filters.category_id)
    listing.page = page
    listing.choices = _choices(result, listing.filters)
    lists.keep(ctx, listing)
    found = [hit.product for hit in result.hits]
    rows: list[list[Button]] = [[b] for b in product_buttons(ctx, found, listing.id)]
    if pages > 1:
        rows.append(pager(ctx, a.LIST, f"{listing.id}:", page, pages))
    lines = [_heading(ctx, listing, title, page, pages, result.total)]
    summary = _describe(ctx, listing.filters)
    if summary:
        lines.append("⚙️ " + summary)
    if not result.total and listing.filters.narrows:
        lines.append(ctx._("Nothing matches these filters."))
    suggestions = [
        Button("🔎 " + phrase, a.SEARCH, phrase)
        for phrase in result.did_you_mean
        if len(phrase.encode()) <= a.MAX_ARG_BYTES and page == 1
    ]
    if suggestions:
        lines.append(ctx._("Did you mean:"))
        rows.extend([button] for button in suggestions)
    if result.total or listing.filters.narrows:
        rows.append([_filters_button(ctx, listing)])
    if listing.filters.category_id is not None:
        rows.append([Button("« " + ctx._("Categories"), a.CATALOG), menu_button(ctx)])
    else:
        rows.append([Button("🛍 " + ctx._("Catalog"), a.CATALOG), menu_button(ctx)])
    return ctx.text("\n".join(lines), rows), result.total


async def _filter_panel(ctx: Ctx, listing: Listing) -> Text:
    """Return a list's filter panel, the active choices marked ✓."""
    filters = listing.filters
    result = await ctx.shop.search.find(listing.query, filters, limit=1, locale=ctx.locale)
    listing.choices = _choices(result, filters)
    lists.keep(ctx, listing)
    lid = listing.id
    sorts = [
        Button(_marked(ctx._(SORT_LABELS[sort]), filters.sort is sort), a.FILTER, f"{lid}:s{n}")
        for n, sort in enumerate(SORTS)
    ]
    rows: list[list[Button]] = [sorts[:2], sorts[2:]]
    stock = _marked("📦 " + ctx._("In stock only"), filters.in_stock)
    rows.append([Button(stock, a.FILTER, f"{lid}:i")])
    bands = [
        Button(
            _marked(_band_label(ctx, low, high), (low, high) == _price(filters)),
            a.FILTER,
            f"{lid}:p{'' if low is None else low}-{'' if high is None else high}",
        )
        for low, high in await _bands(ctx, listing)
    ]
    rows.extend(bands[n : n + 2] for n in range(0, len(bands), 2))
    for n, (name, value) in enumerate(listing.choices):
        label = _marked(f"{name.capitalize()}: {value}", (name, value) in filters.attrs)
        rows.append([Button(label, a.FILTER, f"{lid}:a{n}")])
    if filters.narrows:
        rows.append([Button("✖ " + ctx._("Clear filters"), a.FILTER, f"{lid}:c")])
    rows.append([Button("« " + ctx._("Back to the list"), a.LIST, f"{lid}:{listing.page}")])
    title = await _title(ctx, listing)
    lines = [ctx._("Filters for {list}:").format(list=title)]
    summary = _describe(ctx, filters)
    if summary:
        lines.append("⚙️ " + summary)
    lines.append(
        ctx.ngettext("{n} product matches.", "{n} products match.", result.total).format(
            n=result.total
        )
    )
    return ctx.text("\n".join(lines), rows)


def _describe(ctx: Ctx, filters: Filters) -> str:
    """Return the filters and order in words, "" when the list is as it comes."""
    parts = []
    low, high = _price(filters)
    if low is not None or high is not None:
        parts.append(_band_label(ctx, low, high).casefold())
    if filters.in_stock:
        parts.append(ctx._("in stock only"))
    parts.extend(f"{name}: {value}" for name, value in filters.attrs)
    if filters.sort is not Sort.RELEVANCE:
        parts.append(ctx._(SORT_LABELS[filters.sort]).casefold())
    return " · ".join(parts)


def product_buttons(ctx: Ctx, products: Sequence[SearchDoc], list_id: int) -> list[Button]:
    """Return the buttons that open products' cards, shown together: titles told apart, prices, stock.

    Each carries the id of the list it is on, where the card's Back returns (0: none).
    """
    titles = distinct_titles([(p.title_for(ctx.locale), p.sku) for p in products])
    return [
        _product_button(ctx, p, title, list_id) for p, title in zip(products, titles, strict=True)
    ]


def price_bands(low: int, high: int, currency: str) -> list[tuple[int | None, int | None]]:
    """Return up to `BANDS` price ranges covering `low`..`high`, at round amounts of `currency`.

    The first band has no lower end and the last no upper end; one price gives none.
    """
    unit = 10 ** minor_digits(currency)
    step = _round_step(max(high - low, 1) / BANDS, unit)
    cuts: list[int] = []
    cut = (low // step + 1) * step
    while cut < high and len(cuts) < BANDS - 1:
        cuts.append(cut)
        cut += step
    if not cuts:
        return []
    edges: list[int | None] = [None, *cuts, None]
    return [(edges[n], edges[n + 1]) for n in range(len(edges) - 1)]


def _round_step(rough: float, unit: int) -> int:
    """Return the round amount (1, 2 or 5 times a power of ten major units) nearest to `rough`."""
    scale = unit
    while scale * 10 <= rough:
        scale *= 10
    return min((scale * times for times in (1, 2, 5, 10)), key=lambda step: abs(step - rough))


async def _bands(ctx: Ctx, listing: Listing) -> list[tuple[int | None, int | None]]:
    """Return the price bands of a list's products as they would be without a price filter."""
    unpriced = replace(listing.filters, min_price=None, max_price=None)
    ends = []
    for sort in (Sort.PRICE_UP, Sort.PRICE_DOWN):
        found = await ctx.shop.search.find(
            listing.query, replace(unpriced, sort=sort), limit=1, locale=ctx.locale
        )
        if not found.hits:
            return []
        ends.append(found.hits[0].product.price)
    bands = price_bands(ends[0], ends[1], ctx.shop.settings.shop_currency)
    chosen = _price(listing.filters)
    if chosen != (None, None) and chosen not in bands:  # typed: shown, to be taken off
        bands.insert(0, chosen)
    return bands


def _chosen(listing: Listing, choice: str) -> Filters:
    """Return a list's filters changed by a panel's choice.

    Raises:
        StaleInputError: a choice no panel offers (forged, or from an older panel).
    """
    filters = listing.filters
    kind, rest = choice[:1], choice[1:]
    if kind == "s" and rest.isdecimal() and int(rest) < len(SORTS):
        return replace(filters, sort=SORTS[int(rest)])
    if kind == "i" and not rest:
        return replace(filters, in_stock=not filters.in_stock)
    if kind == "c" and not rest:
        return filters.cleared()
    if kind == "a" and rest.isdecimal() and int(rest) < len(listing.choices):
        name, value = listing.choices[int(rest)]
        return filters.with_attr(name, None if (name, value) in filters.attrs else value)
    if kind == "p":
        low, high = _band(rest)
        if (low, high) == _price(filters):  # the active band again: taken off
            return replace(filters, min_price=None, max_price=None)
        return replace(filters, min_price=low, max_price=high)
    raise StaleInputError(choice)


def _band(text: str) -> tuple[int | None, int | None]:
    """Read a band's "<low>-<high>" (either may be empty) in minor units."""
    low, dash, high = text.partition("-")
    ends = []
    for end in (low, high):
        if end and not (end.isdecimal() and len(end) <= MOST_PRICE_DIGITS):
            raise StaleInputError(text)
        ends.append(int(end) if end else None)
    if not dash or ends == [None, None]:
        raise StaleInputError(text)
    if ends[0] is not None and ends[1] is not None and ends[0] > ends[1]:
        raise StaleInputError(text)
    return ends[0], ends[1]


def _price(filters: Filters) -> tuple[int | None, int | None]:
    return filters.min_price, filters.max_price


def _band_label(ctx: Ctx, low: int | None, high: int | None) -> str:
    currency = ctx.shop.settings.shop_currency
    if low is None and high is not None:
        return ctx._("Up to {price}").format(price=ctx.money(high, currency))
    if high is None and low is not None:
        return ctx._("From {price}").format(price=ctx.money(low, currency))
    return f"{ctx.money(low or 0, currency)} – {ctx.money(high or 0, currency)}"


def _marked(label: str, active: bool) -> str:
    return f"✓ {label}" if active else label


def _choices(result: SearchResult, filters: Filters) -> list[tuple[str, str]]:
    """Return the attribute values a panel offers: the chosen ones, and the commonest of a few attributes."""
    offered = list(filters.attrs)
    shown = 0
    for name, values in result.facets.items():
        if shown >= FACETS_SHOWN:
            break
        if len(values) < 2:
            continue  # every product holds the same: nothing to choose
        shown += 1
        offered.extend((name, value) for value, _count in values[:VALUES_SHOWN])
    return list(dict.fromkeys(offered))


async def _find(ctx: Ctx, listing: Listing, page: int) -> SearchResult:
    return await ctx.shop.search.find(
        listing.query,
        listing.filters,
        offset=(page - 1) * PER_PAGE,
        limit=PER_PAGE,
        locale=ctx.locale,
    )


async def _title(ctx: Ctx, listing: Listing) -> str:
    """Return what a list is: the shelf's name, «the query», or all products."""
    category_id = listing.filters.category_id
    if category_id is not None:
        category = await ctx.shop.catalog.category(category_id)
        if category is None:
            raise StaleInputError(category_id)
        return category.name_for(ctx.locale)
    return f"«{listing.query}»" if listing.query else ctx._("All products")


def _heading(ctx: Ctx, listing: Listing, title: str, page: int, pages: int, total: int) -> str:
    if listing.query and not total:
        return ctx._("Nothing found for «{query}».").format(query=listing.query)
    if listing.query and listing.filters.category_id is None:
        if pages == 1:
            return ctx._("Found for «{query}»:").format(query=listing.query)
        return ctx._("Found for «{query}»: page {page} of {pages}").format(
            query=listing.query, page=page, pages=pages
        )
    return ctx._("{category}: page {page} of {pages}").format(
        category=title, page=page, pages=pages
    )


def _filters_button(ctx: Ctx, listing: Listing) -> Button:
    filters = listing.filters
    active = len(filters.attrs) + filters.in_stock + (_price(filters) != (None, None))
    label = "⚙️ " + ctx._("Filters")
    return Button(f"{label} ({active})" if active else label, a.FILTERS, str(listing.id))


def _kept(ctx: Ctx, list_id: int) -> Listing:
    """Return a kept list, or refuse a button that names none (forged, or let go long ago)."""
    listing = lists.found(ctx, list_id)
    if listing is None:
        raise StaleInputError(list_id)
    return listing


def _product_button(ctx: Ctx, product: SearchDoc, title: str, list_id: int) -> Button:
    """Return the button that opens a product's card: its title, price and availability.

    The index's own record will do: it follows prices and sell-outs within a second,
    and the card it opens is read afresh.
    """
    label = f"{title} · {ctx.money(product.price, product.currency)}"
    if not product.in_stock:
        label += " · " + ctx._("out of stock")
    return Button(label, a.PRODUCT, f"{product.product_id}:1:{list_id}")
