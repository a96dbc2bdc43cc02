"""The `chatshop` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from bot.cli_support import with_shop
from bot.handlers.console import run_demo
from bot.orders_cli import orders_app
from bot.qr_cli import qr_app, report_app
from bot.services import Shop
from bot.settings import Settings
from bot.web import ListenError
from shop.catalog_file import CatalogFileError, detect_format, parse_catalog, write_catalog
from shop.db import DatabaseUrlError
from shop.demo import load_demo_catalog
from shop.errors import ShopError
from shop.plaintext import visible
from shop.search import SearchResult

app = typer.Typer(
    help="chatshop: sell through chat — Telegram, WhatsApp and QR posters, one shop core.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
catalog_app = typer.Typer(help="Import and export the catalog.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(qr_app, name="qr")
app.add_typer(report_app, name="report")
app.add_typer(orders_app, name="orders")

out = Console()
err = Console(stderr=True)
T = TypeVar("T")


class CommandError(Exception):
    """A failure to report as one line and a non-zero exit."""


@app.command()
def run() -> None:
    """Start the shop: every channel whose settings are present, the web server, until Ctrl-C."""
    # aiogram takes seconds to import: only the command that runs the channels pays for it.
    from bot import runner  # noqa: PLC0415

    try:
        asyncio.run(runner.run(Settings(), out))
    except ListenError as error:
        raise CommandError(
            f"cannot serve the web routes: {error} (set HTTP_PORT to a free port)"
        ) from None


@app.command()
def demo() -> None:
    """Shop in the terminal: the same conversations as in Telegram, on the demo catalog, no token needed."""
    try:
        asyncio.run(run_demo(Settings(), sys.stdout))
    except ListenError as error:
        raise CommandError(
            f"cannot serve the payment pages: {error} (set HTTP_PORT to a free port)"
        ) from None


@app.command()
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
                _print_search_json(result, elapsed_ms, locale)
            else:
                _print_search(result, elapsed_ms, locale)

    with_shop(work)


def _print_search_json(result: SearchResult, elapsed_ms: float, locale: str | None) -> None:
    """Write one query's result as one line of JSON."""
    hits = [
        {"sku": h.product.sku, "title": h.product.title_for(locale), "score": h.score}
        for h in result.hits
    ]
    line = {"query": result.query, "hits": hits, "ms": round(elapsed_ms, 3)}
    if result.did_you_mean:
        line["did_you_mean"] = result.did_you_mean
    sys.stdout.write(visible(json.dumps(line, ensure_ascii=False)) + "\n")


def _print_search(result: SearchResult, elapsed_ms: float, locale: str | None) -> None:
    """Print one query's result as a block people read."""
    out.print(
        f"[bold]{_shown(result.query)}[/bold]  ({len(result.hits)} hits, {elapsed_ms:.2f} ms)"
    )
    for rank, hit in enumerate(result.hits, start=1):
        how = ", ".join(
            f"{m.query_word}→{m.matched} {m.how.name.lower()}{f' ({m.variant})' if m.variant else ''}"
            for m in hit.matches
        )
        stock = "" if hit.in_stock else "  [yellow]out of stock[/yellow]"
        out.print(
            f"  {rank:>2}. {_shown(hit.product.sku)}  {_shown(hit.product.title_for(locale))}{stock}",
            soft_wrap=True,
        )
        out.print(f"      [dim]{hit.score:.3f}  {_shown(how)}[/dim]", soft_wrap=True)
    if result.did_you_mean:
        out.print(f"  did you mean: {_shown(' | '.join(result.did_you_mean))}")


def _shown(text: str) -> str:
    """Return stored or typed text for rich markup: escape codes shown, never obeyed."""
    return escape(visible(text))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply schema migrations up to the newest."""

    async def work(shop: Shop) -> None:
        out.print("The database schema is up to date.")

    with_shop(work)


@catalog_app.command("import")
def catalog_import(
    file: Annotated[Path, typer.Argument(help="A .csv or .json catalog file.")],
    allow_free: Annotated[
        bool, typer.Option("--allow-free", help="Accept products priced 0 (free on purpose).")
    ] = False,
) -> None:
    """Create or update products by sku from a file: every row, or nothing if any row is bad.

    Every price must be in SHOP_CURRENCY, written plainly (1299.90), and above 0
    unless --allow-free says free products are meant.
    """
    settings = Settings()
    fmt = detect_format(file.name)
    try:
        data = file.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {file}: {error.strerror}") from None
    with _progress() as progress:
        reading = progress.add_task("Checking", total=len(data))
        rows = parse_catalog(
            data,
            fmt,
            currency=settings.shop_currency,
            allow_free=allow_free,
            progress=lambda n: progress.update(reading, completed=n),
        )
        progress.update(reading, completed=len(data))
        writing = progress.add_task("Importing", total=len(rows))

        async def work(shop: Shop) -> None:
            result = await shop.catalog.import_rows(
                rows, progress=lambda n: progress.advance(writing, n)
            )
            progress.stop()
            out.print(
                f"Imported {len(rows)} products from {file.name}: {result.created} new, "
                f"{result.updated} updated, in {result.categories} categories."
            )

        with_shop(work)


@catalog_app.command("demo")
def catalog_demo(
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Add the demo products to a catalog that has products (same sku: replaced).",
        ),
    ] = False,
) -> None:
    """Load the demo catalog (310 products in 8 categories) into an empty shop, to try it."""

    async def work(shop: Shop) -> None:
        count = await shop.catalog.count(active_only=False)
        if count and not force:
            products = f"{count} product{'' if count == 1 else 's'}"
            raise CommandError(
                f"the catalog already has {products}; the demo catalog goes into an empty shop "
                "(--force adds the demo products to yours, replacing any with the same sku)"
            )
        loaded = await load_demo_catalog(shop.catalog, shop.settings.shop_currency)
        out.print(f"Loaded the demo catalog: {loaded} products.")

    with_shop(work)


@catalog_app.command("export")
def catalog_export(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Where to write (.csv or .json).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="csv or json, when writing to stdout.")
    ] = "csv",
) -> None:
    """Write the active catalog as CSV or JSON, in the form `catalog import` reads back."""
    chosen = detect_format(output.name) if output else detect_format(f"stdout.{fmt}")

    async def work(shop: Shop) -> None:
        data = write_catalog(await shop.catalog.export_rows(), chosen)
        if output is None:
            sys.stdout.buffer.write(data)
            return
        try:
            output.write_bytes(data)
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
        err.print(f"Exported the catalog to {output}.")

    with_shop(work)


def _progress() -> Progress:
    """Return a progress bar on stderr, so stdout stays clean for data."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,  # no bar in logs and pipes
    )


def main() -> None:
    """Run the command line; report failures as one line and a non-zero exit, never a traceback."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        if os.environ.get("CHATSHOP_DEBUG"):
            raise
        message, status = _explain(error)
        # A file name or a stored value may hold escape codes: shown, never obeyed.
        shown = visible(message, multiline=True)
        err.print(f"error: {shown}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(status)


def _explain(error: Exception) -> tuple[str, int]:
    """Return what to tell staff about a failure, and the exit status."""
    if isinstance(error, CatalogFileError | CommandError | ShopError):
        return str(error), 1
    if isinstance(error, DatabaseUrlError):
        return f"DATABASE_URL: {error}", 2
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]).upper()
        return f"setting {where}: {first['msg']}", 2
    if isinstance(error, SQLAlchemyError):
        return (
            f"database: {error.__class__.__name__}: {error.args[0] if error.args else ''}",
            1,
        )
    return f"{error.__class__.__name__}: {error} (set CHATSHOP_DEBUG=1 for details)", 1
