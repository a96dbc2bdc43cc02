"""The composition root: builds the shop's services once and hands the same objects to every channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.settings import Settings
from shop.analytics import AnalyticsService
from shop.carts import CartService
from shop.catalog import CatalogService
from shop.customers import CustomerService
from shop.db import Database
from shop.delivery import DeliveryRules
from shop.demo import load_demo_catalog
from shop.migrate import upgrade
from shop.orders import OrderService
from shop.promos import PromoService
from shop.types import utcnow


@dataclass(frozen=True, slots=True)
class Shop:
    """Every shop service, built over one database."""

    settings: Settings
    db: Database
    catalog: CatalogService
    customers: CustomerService
    carts: CartService
    promos: PromoService
    orders: OrderService
    analytics: AnalyticsService


def build_shop(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Shop:
    """Build the services; tests pass their own settings and clock."""
    db = Database(settings.database_url)
    return Shop(
        settings=settings,
        db=db,
        catalog=CatalogService(db, clock),
        customers=CustomerService(db, clock),
        carts=CartService(db, clock),
        promos=PromoService(db, clock),
        orders=OrderService(db, delivery=DeliveryRules(), clock=clock),
        analytics=AnalyticsService(db, clock),
    )


async def prepare(shop: Shop) -> int:
    """Bring the schema up to date and load the demo catalog into an empty shop.

    Returns how many demo products were loaded (0 when the catalog had products).
    """
    await upgrade(shop.db)
    if await shop.catalog.count(active_only=False) == 0:
        return await load_demo_catalog(shop.catalog)
    return 0
