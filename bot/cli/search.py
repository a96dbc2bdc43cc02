"""`chatshop search`: what customers would find, as they would type it, narrowed as they would narrow it.

Filters are the customers' own (shop/filters.py), read by the same
`SearchService.find`: prices in major units of SHOP_CURRENCY as the catalog file
writes them, in stock only, attribute values, a category by its name, an order and
a page. An empty query lists products only within a category or a filter.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from bot.cli.common import out, print_json, shown, with_shop
from bot.services import Shop
from shop.catalog_file import parse_price
from shop.filters import Filters, Sort
from shop.money import MoneyError, format_money
from shop.search import SearchResult
from shop.text import words


def search(
    queries: Annotated[
        list[str] | None,
        typer.Argument(help="What customers would type, one per argument.", show_default=False),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=100, help="Hits per query (a page).")
    ] = 10,
    page: Annotated[int, typer.Option(min=1, help="Which page of hits.")] = 1,
    min_price: Annotated[
        str | None, typer.Option(help="Only from this price, in major units (9.90).")
    ] = None,
    max_price: Annotated[
        str | None, typer.Option(help="Only up to this price, in major units (9.90).")
    ] = None,
    in_stock: Annotated[
        bool, typer.Option("--in-stock", help="Only what can be bought now.")
    ] = False,
    attr: Annotated[
        list[str] | None,
        typer.Option(help="NAME=VALUE: only products with this attribute (repeatable)."),
    ] = None,
    brand: Annotated[str | None, typer.Option(help="Same as --attr brand=VALUE.")] = None,
    category: Annotated[
        str | None, typer.Option(help="Only this category, by its name in any language.")
    ] = None,
    sort: Annotated[
        Sort, typer.Option(help="Order: relevance, price (cheapest first), -price, newest.")
    ] = Sort.RELEVANCE,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line per query.")
    ] = False,
    locale: Annotated[
        str | None, typer.Option(help="Show titles in this language (en, ru).")
    ] = None,
) -> None:
    """Show what customers would find for each query, searching the catalog in DATABASE_URL."""
    pairs = [*(attr or []), *([f"brand={brand}"] if brand is not None else [])]
    attrs = tuple(_attribute(pair) for pair in pairs)
    for option, value in (("--min-price", min_price), ("--max-price", max_price)):
        if value is not None:
            _price(value, None, option)  # its form, before the shop is opened
    narrowed = bool(min_price or max_price or in_stock or attrs or category)
    if not queries and not narrowed:
        raise typer.BadParameter("give a query, or a filter to list products", param_hint="QUERIES")

    async def work(shop: Shop) -> None:
        currency = shop.settings.shop_currency
        filters = Filters(
            category_id=await _category(shop, category) if category is not None else None,
            min_price=_price(min_price, currency, "--min-price") if min_price else None,
            max_price=_price(max_price, currency, "--max-price") if max_price else None,
            in_stock=in_stock,
            attrs=attrs,
            sort=sort,
        )
        await shop.search.start()
        for query in queries or [""]:
            started = time.perf_counter()
            if words(query) or narrowed:
                result = await shop.search.find(
                    query, filters, offset=(page - 1) * limit, limit=limit, locale=locale
                )
            else:  # nothing to look for: nothing found, rather than the whole catalog
                result = SearchResult(query, [], [])
            elapsed_ms = (time.perf_counter() - started) * 1000
            if as_json:
                _print_json(result, elapsed_ms, locale, page)
            else:
                _print(result, elapsed_ms, locale, page)

    with_shop(work)


def _attribute(pair: str) -> tuple[str, str]:
    """Read NAME=VALUE."""
    name, equals, value = pair.partition("=")
    if not equals or not name.strip() or not value.strip():
        raise typer.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--attr")
    return name.strip(), value.strip()


def _price(text: str, currency: str | None, option: str) -> int:
    """Read a price in major units as the catalog file writes it; without a currency, only check it."""
    try:
        return parse_price(text, currency)
    except MoneyError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None


async def _category(shop: Shop, name: str) -> int:
    """Return the id of the category named `name` in any language."""
    wanted = name.strip().casefold()
    for summary in await shop.catalog.categories():
        found = summary.category
        names = [found.name, *(found.name_i18n or {}).values()]
        if found.id is not None and wanted in (n.casefold() for n in names):
            return found.id
    raise typer.BadParameter(f"no category {name!r} has products on sale", param_hint="--category")


def _print_json(result: SearchResult, elapsed_ms: float, locale: str | None, page: int) -> None:
    """Write one query's result as one line of JSON."""
    hits = [
        {
            "sku": h.product.sku,
            "title": h.product.title_for(locale),
            "score": h.score,
            "price": h.product.price,
            "currency": h.product.currency,
            "in_stock": h.in_stock,
        }
        for h in result.hits
    ]
    line = {
        "query": result.query,
        "hits": hits,
        "total": result.total,
        "page": page,
        "ms": round(elapsed_ms, 3),
    }
    if result.did_you_mean:
        line["did_you_mean"] = result.did_you_mean
    print_json(line)


def _print(result: SearchResult, elapsed_ms: float, locale: str | None, page: int) -> None:
    """Print one query's result as a block people read."""
    out.print(
        f"[bold]{shown(result.query)}[/bold]  ({len(result.hits)} of {result.total} hits, "
        f"page {page}, {elapsed_ms:.2f} ms)"
    )
    for rank, hit in enumerate(result.hits, start=1):
        how = ", ".join(
            f"{m.query_word}→{m.matched} {m.how.name.lower()}{f' ({m.variant})' if m.variant else ''}"
            for m in hit.matches
        )
        stock = "" if hit.in_stock else "  [yellow]out of stock[/yellow]"
        price = format_money(hit.product.price, hit.product.currency, locale or "en")
        out.print(
            f"  {rank:>2}. {shown(hit.product.sku)}  {shown(hit.product.title_for(locale))}"
            f"  {price}{stock}",
            soft_wrap=True,
        )
        out.print(f"      [dim]{hit.score:.3f}  {shown(how)}[/dim]", soft_wrap=True)
    if result.did_you_mean:
        out.print(f"  did you mean: {shown(' | '.join(result.did_you_mean))}")
