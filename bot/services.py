"""The shop's services, as every channel, flow and command is handed them (built in bot/app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings
from payments.service import PaymentService
from shop.analytics import AnalyticsService
from shop.attribution import AttributionService
from shop.broadcasts import BroadcastService
from shop.carts import CartService
from shop.catalog import CatalogService
from shop.customers import CustomerService
from shop.db import Database
from shop.experiments import ExperimentService
from shop.inbox import InboxService
from shop.orders import OrderService
from shop.outbox import OutboxService
from shop.promos import PromoService
from shop.reminders import CartReminderService
from shop.search import SearchService
from shop.stock_alerts import StockAlertService
from shop.tickets import TicketService
from shop.together import TogetherService


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
    outbox: OutboxService
    inbox: InboxService
    tickets: TicketService
    reminders: CartReminderService
    stock_alerts: StockAlertService
    experiments: ExperimentService
    broadcasts: BroadcastService
    together: TogetherService
