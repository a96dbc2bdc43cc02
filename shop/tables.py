"""Typed handles on the tables, for SQLAlchemy Core statements on the hot paths."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlmodel import SQLModel

from shop.models import (
    AnalyticsEvent,
    Broadcast,
    Cart,
    CartItem,
    CatalogRevision,
    Category,
    ConversationRecord,
    Customer,
    Experiment,
    ExperimentExposure,
    FunnelReach,
    InboundMessage,
    Order,
    OrderEvent,
    OrderLine,
    OutboundMessage,
    OutboundRef,
    Payment,
    Product,
    PromoCode,
    PromoRedemption,
    QrCode,
    ServerSecret,
    StaffConversation,
    StockRequest,
    Ticket,
    TicketMessage,
    TogetherBestSeller,
    TogetherFold,
    TogetherPair,
)


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


analytics_event = _table(AnalyticsEvent)
broadcast = _table(Broadcast)
catalog_revision = _table(CatalogRevision)
cart = _table(Cart)
cart_item = _table(CartItem)
category = _table(Category)
conversation_state = _table(ConversationRecord)
customer = _table(Customer)
experiment = _table(Experiment)
experiment_exposure = _table(ExperimentExposure)
funnel_reach = _table(FunnelReach)
order = _table(Order)
order_event = _table(OrderEvent)
order_line = _table(OrderLine)
outbound_message = _table(OutboundMessage)
outbound_ref = _table(OutboundRef)
inbound_message = _table(InboundMessage)
product = _table(Product)
promo_code = _table(PromoCode)
promo_redemption = _table(PromoRedemption)
payment = _table(Payment)
server_secret = _table(ServerSecret)
qr_code = _table(QrCode)
staff_conversation = _table(StaffConversation)
stock_request = _table(StockRequest)
ticket = _table(Ticket)
ticket_message = _table(TicketMessage)
together_best_seller = _table(TogetherBestSeller)
together_fold = _table(TogetherFold)
together_pair = _table(TogetherPair)
