"""The composition root: builds the shop's services once and hands the same objects to every channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.settings import Settings
from payments.interface import PaymentProvider
from payments.keys import KeyRing
from payments.sandbox import SANDBOX, SandboxCheckout, SandboxProvider
from payments.service import PaymentService
from payments.stripe_checkout import STRIPE, StripeProvider
from payments.telegram import TelegramCardProvider, TelegramStarsProvider
from shop.analytics import AnalyticsService
from shop.attribution import AttributionService
from shop.carts import CartService
from shop.catalog import CatalogService
from shop.customers import CustomerService
from shop.db import Database
from shop.delivery import DeliveryRules
from shop.demo import DEMO_CURRENCY, load_demo_catalog
from shop.migrate import upgrade
from shop.orders import OrderService
from shop.promos import PromoService
from shop.search import SearchService
from shop.types import utcnow

KEPT_CUSTOMERS = 50_000  # customers a process serving alone keeps in memory


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
    payments: PaymentService
    search: SearchService
    attribution: AttributionService


def build_shop(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Shop:
    """Build the services; tests pass their own settings and clock."""
    db = Database(settings.database_url)
    orders = OrderService(db, delivery=DeliveryRules(), clock=clock)
    # Without Redis one process serves customers, and may keep them in memory; workers
    # sharing customers through Redis read them every time (see CustomerService).
    customers = CustomerService(db, clock, remember=0 if settings.redis_url else KEPT_CUSTOMERS)
    orders.subscribe(customers.order_changed)
    return Shop(
        settings=settings,
        db=db,
        catalog=CatalogService(db, clock),
        customers=customers,
        carts=CartService(db, clock),
        promos=PromoService(db, clock),
        orders=orders,
        analytics=AnalyticsService(db, clock),
        payments=build_payments(settings, db, orders, clock),
        search=SearchService(db),
        attribution=AttributionService(db, clock),
    )


def build_payments(
    settings: Settings, db: Database, orders: OrderService, clock: Callable[[], datetime] = utcnow
) -> PaymentService:
    """Build the payment providers the settings enable, behind one PaymentService.

    The sandbox checkout and Telegram Stars are always there; Telegram card invoices
    need TELEGRAM_PAYMENT_PROVIDER_TOKEN; Stripe needs STRIPE_API_KEY and then makes
    the payment links instead of the sandbox.
    """
    secret = settings.payments_secret
    keys = KeyRing(db, secret.get_secret_value() if secret else None, clock)

    base = settings.public_base_url.rstrip("/")
    providers: list[PaymentProvider] = [
        SandboxProvider(keys, clock),
        TelegramStarsProvider(settings.telegram.stars_rate, keys),
    ]
    if settings.telegram.payment_provider_token is not None:
        token = settings.telegram.payment_provider_token.get_secret_value()
        providers.append(TelegramCardProvider(token, keys))
    stripe = settings.stripe
    if stripe.api_key is not None:
        webhook_secret = stripe.webhook_secret
        providers.append(
            StripeProvider(
                api_key=stripe.api_key.get_secret_value(),
                webhook_secret=webhook_secret.get_secret_value() if webhook_secret else None,
                api_base=stripe.api_base,
            )
        )
    return PaymentService(
        db,
        orders,
        providers=providers,
        keys=keys,
        public_base_url=base,
        link_provider=STRIPE if stripe.api_key is not None else SANDBOX,
        hosted=SandboxCheckout(keys, f"{base}/payments/sandbox/webhook", clock),
        link_ttl=timedelta(minutes=settings.payment_link_minutes),
        clock=clock,
    )


async def prepare(shop: Shop, *, demo_catalog: bool | None = None) -> int:
    """Bring the schema up to date and, if wanted, load the demo catalog into an empty shop.

    By default it is wanted only while no messenger channel is configured (and the shop
    sells in the demo's currency): a shop selling for real never gets the demo products
    just because its catalog is empty. `chatshop demo` asks for it in any case.
    Returns how many demo products were loaded (0 when none were).
    """
    await upgrade(shop.db)
    settings = shop.settings
    if demo_catalog is None:
        demo_catalog = not settings.messenger_configured and settings.shop_currency == DEMO_CURRENCY
    if demo_catalog and await shop.catalog.count(active_only=False) == 0:
        return await load_demo_catalog(shop.catalog, settings.shop_currency)
    return 0
