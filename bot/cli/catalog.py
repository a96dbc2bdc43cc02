"""`chatshop catalog ...`: the products on sale, from a file or one at a time."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import CommandError, err, out, progress, with_shop
from bot.settings import Settings
from bot.wiring import Shop
from shop.catalog_file import detect_format, parse_catalog, write_catalog
from shop.demo import load_demo_catalog

catalog_app = typer.Typer(help="Import and export the catalog.", no_args_is_help=True)


@catalog_app.command("import")
def import_file(
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
    with progress() as bar:
        reading = bar.add_task("Checking", total=len(data))
        rows = parse_catalog(
            data,
            fmt,
            currency=settings.shop_currency,
            allow_free=allow_free,
            progress=lambda n: bar.update(reading, completed=n),
        )
        bar.update(reading, completed=len(data))
        writing = bar.add_task("Importing", total=len(rows))

        async def work(shop: Shop) -> None:
            result = await shop.catalog.import_rows(
                rows, progress=lambda n: bar.advance(writing, n)
            )
            bar.stop()
            out.print(
                f"Imported {len(rows)} products from {file.name}: {result.created} new, "
                f"{result.updated} updated, in {result.categories} categories."
            )

        with_shop(work)


@catalog_app.command("demo")
def demo(
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
def export(
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
