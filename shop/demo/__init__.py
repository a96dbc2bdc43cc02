"""The demo catalog shipped with chatshop: what a newcomer sees first."""

from __future__ import annotations

from importlib.resources import files

from shop.catalog import CatalogService
from shop.catalog_file import parse_catalog

DEMO_CURRENCY = "USD"  # what every demo product is priced in


def demo_catalog_bytes() -> bytes:
    """Return the demo catalog CSV as shipped in the package."""
    return files("shop.demo").joinpath("catalog.csv").read_bytes()


async def load_demo_catalog(catalog: CatalogService) -> int:
    """Import the demo catalog; return how many products it holds."""
    rows = parse_catalog(demo_catalog_bytes(), "csv", currency=DEMO_CURRENCY)
    await catalog.import_rows(rows)
    return len(rows)
