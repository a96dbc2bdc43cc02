"""`chatshop catalog ...`: the products on sale, from a file or one at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import CommandError, err, out, progress, shown, with_shop, write_out
from bot.services import Shop
from bot.settings import Settings
from shop.catalog_file import detect_format, parse_catalog, parse_price, write_catalog
from shop.demo import load_demo_catalog
from shop.errors import NotFoundError
from shop.money import MoneyError, format_money
from shop.views import ProductView

catalog_app = typer.Typer(
    help="The catalog: import and export it, or change one product.", no_args_is_help=True
)
Sku = Annotated[str, typer.Argument(help="The product's sku.")]


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

    async def work(shop: Shop) -> bytes:
        return write_catalog(await shop.catalog.export_rows(), chosen)

    write_out(with_shop(work), output)
    if output is not None:
        err.print(f"Exported the catalog to {output}.")


@catalog_app.command("delist")
def delist(sku: Sku) -> None:
    """Take a product off sale: customers no longer find or buy it; orders placed keep it."""
    product = with_shop(lambda shop: shop.catalog.set_active(sku, False))
    out.print(f"{shown(product.sku)} is off sale (relist puts it back).")


@catalog_app.command("relist")
def relist(sku: Sku) -> None:
    """Put a product taken off sale back on sale."""
    product = with_shop(lambda shop: shop.catalog.set_active(sku, True))
    out.print(f"{shown(product.sku)} is on sale, {product.stock} in stock.")


@catalog_app.command("set-stock")
def set_stock(
    sku: Sku,
    count: Annotated[
        int,
        typer.Argument(
            min=0, help="Units free to sell now, beside those unpaid orders hold for a while."
        ),
    ],
) -> None:
    """Set how many units of a product are free to sell, without a full import."""
    product = with_shop(lambda shop: shop.catalog.set_stock(sku, count))
    out.print(f"{shown(product.sku)}: {product.stock} in stock.")


@catalog_app.command("set-price")
def set_price(
    sku: Sku,
    price: Annotated[str, typer.Argument(help="In major units of SHOP_CURRENCY: 1299.90.")],
    allow_free: Annotated[
        bool, typer.Option("--allow-free", help="Accept a price of 0 (free on purpose).")
    ] = False,
) -> None:
    """Change a product's price, without a full import; orders placed keep theirs."""

    async def work(shop: Shop) -> ProductView:
        currency = shop.settings.shop_currency
        try:
            amount = parse_price(price, currency)
        except MoneyError as error:
            raise CommandError(str(error)) from None
        if amount == 0 and not allow_free:
            raise CommandError(
                f"price {price!r} would give the product away; "
                "use --allow-free if it is free on purpose"
            )
        product = await shop.catalog.product_by_sku(sku)
        if product is None:
            raise NotFoundError("product", sku)
        if product.currency != currency:
            raise CommandError(
                f"{sku} is priced in {product.currency} and the shop sells in {currency}: "
                "import it in the shop's currency instead"
            )
        return await shop.catalog.set_price(sku, amount)

    product = with_shop(work)
    out.print(f"{shown(product.sku)}: {format_money(product.price, product.currency)}.")


@catalog_app.command("rebuild-together")
def rebuild_together() -> None:
    """Count "often bought together" again from every paid order (a running shop keeps it counted)."""
    pairs = with_shop(lambda shop: shop.together.rebuild())
    out.print(
        f"Counted every paid order again: {pairs} pair{'' if pairs == 1 else 's'} of products."
    )
