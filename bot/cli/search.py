"""`chatshop search`: what customers would find, as they would type it."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from bot.cli.common import out, print_json, shown, with_shop
from bot.services import Shop
from shop.search import SearchResult


def search(
    queries: Annotated[
        list[str], typer.Argument(help="What customers would type, one per argument.")
    ],
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=100, help="Hits per query.")
    ] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line per query.")
    ] = False,
    locale: Annotated[
        str | None, typer.Option(help="Show titles in this language (en, ru).")
    ] = None,
) -> None:
    """Show what customers would find for each query, searching the catalog in DATABASE_URL."""

    async def work(shop: Shop) -> None:
        await shop.search.start()
        for query in queries:
            started = time.perf_counter()
            result = await shop.search.suggest(query, limit, locale)
            elapsed_ms = (time.perf_counter() - started) * 1000
            if as_json:
                _print_json(result, elapsed_ms, locale)
            else:
                _print(result, elapsed_ms, locale)

    with_shop(work)


def _print_json(result: SearchResult, elapsed_ms: float, locale: str | None) -> None:
    """Write one query's result as one line of JSON."""
    hits = [
        {"sku": h.product.sku, "title": h.product.title_for(locale), "score": h.score}
        for h in result.hits
    ]
    line = {"query": result.query, "hits": hits, "ms": round(elapsed_ms, 3)}
    if result.did_you_mean:
        line["did_you_mean"] = result.did_you_mean
    print_json(line)


def _print(result: SearchResult, elapsed_ms: float, locale: str | None) -> None:
    """Print one query's result as a block people read."""
    out.print(f"[bold]{shown(result.query)}[/bold]  ({len(result.hits)} hits, {elapsed_ms:.2f} ms)")
    for rank, hit in enumerate(result.hits, start=1):
        how = ", ".join(
            f"{m.query_word}→{m.matched} {m.how.name.lower()}{f' ({m.variant})' if m.variant else ''}"
            for m in hit.matches
        )
        stock = "" if hit.in_stock else "  [yellow]out of stock[/yellow]"
        out.print(
            f"  {rank:>2}. {shown(hit.product.sku)}  {shown(hit.product.title_for(locale))}{stock}",
            soft_wrap=True,
        )
        out.print(f"      [dim]{hit.score:.3f}  {shown(how)}[/dim]", soft_wrap=True)
    if result.did_you_mean:
        out.print(f"  did you mean: {shown(' | '.join(result.did_you_mean))}")
