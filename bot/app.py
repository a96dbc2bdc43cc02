"""The composition root: builds the shop's services once and hands the same objects to every channel."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta

from bot.flows.context import PayloadDecoder, StaffDesk
from bot.flows.engine import Conversations
from bot.services import Shop
from bot.settings import Settings
from bot.stores import store_for
from payments.interface import PaymentProvider
from payments.keys import KeyRing
from payments.sandbox import SANDBOX, SandboxCheckout, SandboxProvider
from payments.service import PaymentService
from payments.stripe_checkout import STRIPE, StripeProvider
from payments.telegram import TelegramCardProvider, TelegramStarsProvider
from shop.analytics import AnalyticsService
from shop.attribution import AttributionService
from shop.broadcasts import BroadcastService
from shop.carts import CartService
from shop.catalog import CatalogService
from shop.customers import CustomerService
from shop.db import Database
from shop.demo import DEMO_CURRENCY, load_demo_catalog
from shop.experiments import ExperimentService
from shop.inbox import InboxService
from shop.migrate import upgrade
from shop.money import parse_major
from shop.orders import OrderService
from shop.outbox import OutboxService
from shop.pricing import DeliveryOption, DeliveryRules, example_rules
from shop.promos import PromoService
from shop.reminders import CartReminderService
from shop.search import SearchService
from shop.stock_alerts import StockAlertService
from shop.tickets import TicketService
from shop.together import TogetherService
from shop.types import utcnow

KEPT_CUSTOMERS = 50_000  # customers a process serving alone keeps in memory


def build_shop(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Shop:
    """Build the services; tests pass their own settings and clock."""
    db = Database(settings.database_url)
    orders = OrderService(
        db,
        delivery=delivery_rules(settings),
        hold=timedelta(minutes=settings.stock_hold_minutes),
        clock=clock,
    )
    # Without Redis one process serves customers, and may keep them in memory; workers
    # sharing customers through Redis read them every time (see CustomerService).
    customers = CustomerService(db, clock, remember=0 if settings.redis_url else KEPT_CUSTOMERS)
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
        outbox=OutboxService(db, clock),
        inbox=InboxService(db, clock),
        tickets=TicketService(db, clock),
        reminders=CartReminderService(db, settings.cart_reminder_after, clock),
        stock_alerts=StockAlertService(db, clock),
        experiments=ExperimentService(db, clock),
        broadcasts=BroadcastService(db, clock),
        together=TogetherService(db),
    )


def build_payments(
    settings: Settings, db: Database, orders: OrderService, clock: Callable[[], datetime] = utcnow
) -> PaymentService:
    """Build the payment providers the settings enable, behind one PaymentService.

    Telegram Stars come with the Telegram channel; Telegram card invoices need
    TELEGRAM_PAYMENT_PROVIDER_TOKEN; payment links are Stripe's with STRIPE_API_KEY,
    else the sandbox checkout's where it is allowed (PAYMENTS_SANDBOX), else none.
    """
    secret = settings.payments_secret
    keys = KeyRing(db, secret.get_secret_value() if secret else None, clock)
    base = settings.public_base_url.rstrip("/")
    providers: list[PaymentProvider] = []
    sandbox = None
    if settings.sandbox_enabled:
        providers.append(SandboxProvider(keys, clock))
        sandbox = SandboxCheckout(keys, f"{base}/payments/sandbox/webhook", clock)
    telegram = settings.telegram
    if telegram.bot_token is not None:
        providers.append(
            TelegramStarsProvider(
                telegram.stars_rate,
                keys,
                bot_token=telegram.bot_token.get_secret_value(),
                api_url=telegram.api_url,
            )
        )
    if telegram.payment_provider_token is not None:
        token = telegram.payment_provider_token.get_secret_value()
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
        link_provider: str | None = STRIPE
    else:
        link_provider = SANDBOX if sandbox is not None else None
    return PaymentService(
        db,
        orders,
        providers=providers,
        keys=keys,
        public_base_url=base,
        link_provider=link_provider,
        sandbox=sandbox,
        link_ttl=timedelta(minutes=settings.payment_link_minutes),
        clock=clock,
    )


def delivery_rules(settings: Settings) -> DeliveryRules:
    """Return the delivery options the owner set, priced in the shop's currency (or the examples)."""
    currency = settings.shop_currency
    configured = settings.delivery.options
    if configured is None:
        rules = example_rules(currency)
    else:
        rules = DeliveryRules(
            tuple(
                DeliveryOption(
                    option.id,
                    parse_major(str(option.price), currency),
                    needs_address=option.address,
                    free_from=None
                    if option.free_from is None
                    else parse_major(str(option.free_from), currency),
                    names=option.name,
                )
                for option in configured
            )
        )
    return replace(rules, pickup_address=settings.delivery.pickup_address)


@asynccontextmanager
async def running_shop(
    settings: Settings, *, clock: Callable[[], datetime] = utcnow
) -> AsyncIterator[Shop]:
    """Build the shop's services, bring its schema up to date; close them all in order afterwards.

    Every process uses it: `chatshop run`, `demo`, `worker` and each staff command.
    """
    shop = build_shop(settings, clock=clock)
    try:
        await upgrade(shop.db)
        yield shop
    finally:
        await shop.payments.close()
        await shop.db.dispose()


async def stock_demo(shop: Shop, *, wanted: bool | None = None) -> int:
    """Load the demo catalog into an empty shop if wanted; return how many products were loaded.

    By default it is wanted only while no messenger channel is configured (and the shop
    sells in the demo's currency): a shop selling for real never gets the demo products
    just because its catalog is empty. `chatshop demo` asks for it in any case.
    """
    settings = shop.settings
    if wanted is None:
        wanted = not settings.messenger_configured and settings.shop_currency == DEMO_CURRENCY
    if wanted and await shop.catalog.count(active_only=False) == 0:
        return await load_demo_catalog(shop.catalog, settings.shop_currency)
    return 0


def conversations_for(
    shop: Shop, *, staff: StaffDesk | None = None, decode_payload: PayloadDecoder | None = None
) -> Conversations:
    """Return the engine over the store the settings pick: Redis when REDIS_URL is set, else the database."""
    store = store_for(shop.db, shop.settings)
    return Conversations(shop, store, staff=staff, decode_payload=decode_payload)
