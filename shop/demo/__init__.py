"""The demo catalog shipped with chatshop: what a newcomer sees first."""

from __future__ import annotations

from importlib.resources import files

from shop.catalog import CatalogService
from shop.catalog_file import parse_catalog
from shop.errors import ShopError

DEMO_CURRENCY = "USD"  # what every demo product is priced in


class DemoCurrencyError(ShopError):
    """The demo catalog cannot go into a shop that sells in another currency."""

    def __init__(self, currency: str) -> None:
        super().__init__(
            f"the demo catalog is priced in {DEMO_CURRENCY}, but the shop sells in {currency} "
            f"(SHOP_CURRENCY): try it with SHOP_CURRENCY={DEMO_CURRENCY}, or import your own "
            "catalog with `chatshop catalog import FILE`"
        )


def demo_catalog_bytes() -> bytes:
    """Return the demo catalog CSV as shipped in the package."""
    return files("shop.demo").joinpath("catalog.csv").read_bytes()


async def load_demo_catalog(catalog: CatalogService, currency: str) -> int:
    """Import the demo catalog into a shop selling in `currency`; return how many products it holds.

    Raises:
        DemoCurrencyError: the shop sells in another currency than the demo's.
    """
    if currency != DEMO_CURRENCY:
        raise DemoCurrencyError(currency)
    rows = parse_catalog(demo_catalog_bytes(), "csv", currency=DEMO_CURRENCY)
    await catalog.import_rows(rows)
    return len(rows)
