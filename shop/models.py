"""The shop's tables. Money is integer minor units plus a currency; times are aware UTC."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from shop.types import UTCDateTime

# Named constraints let migrations refer to them on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _utc(*, nullable: bool = False, index: bool = False) -> Any:
    """Return a Field stored as an aware UTC datetime."""
    return Field(sa_type=UTCDateTime, nullable=nullable, index=index)


def _json() -> Any:
    """Return a Field holding a JSON object (locale -> text)."""
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def _json_list() -> Any:
    """Return a Field holding a JSON array."""
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Channel(StrEnum):
    """Where a customer talks to the shop."""

    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    CONSOLE = "console"


class OrderStatus(StrEnum):
    """Where an order is in its life."""

    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class Reservation(StrEnum):
    """What an order's stock reservation is doing."""

    HELD = "held"
    RELEASED = "released"  # cancelled on purpose before payment
    EXPIRED = "expired"  # the hold ran out before payment
    COMMITTED = "committed"


class PromoKind(StrEnum):
    """How a promo code discounts."""

    PERCENT = "percent"
    FIXED = "fixed"


class CatalogRevision(SQLModel, table=True):
    """A single counter bumped by every catalog change, so readers can ask what changed."""

    __tablename__ = "catalog_revision"

    id: int = Field(default=1, primary_key=True)
    value: int = Field(default=0)


class Category(SQLModel, table=True):
    """A shelf of the shop."""

    __tablename__ = "category"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    name_i18n: dict[str, str] = _json()
    position: int = Field(default=0)

    def name_for(self, locale: str | None) -> str:
        """Return the category's name in `locale`, or its base name."""
        return self.name_i18n.get(locale or "", self.name)


class Product(SQLModel, table=True):
    """Something the shop sells; `stock` counts units free to reserve."""

    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        Index("ix_product_category_active", "category_id", "active"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(unique=True, max_length=64)
    title: str
    description: str = ""
    title_i18n: dict[str, str] = _json()
    description_i18n: dict[str, str] = _json()
    price: int
    currency: str = Field(max_length=3)
    stock: int = 0
    sold: int = 0
    image_url: str | None = None  # the main photo, also first in `image_urls`
    image_urls: list[str] = _json_list()  # every photo, main first
    attrs: dict[str, str] = _json()  # free attributes from the catalog's attr_<name> columns
    sort_order: int | None = None  # the owner's order on a shelf; none: after those with one
    active: bool = True
    digital: bool = False
    category_id: int | None = Field(default=None, foreign_key="category.id", ondelete="SET NULL")
    revision: int = Field(default=0, index=True)
    updated_at: datetime = _utc()
    created_at: datetime = _utc()  # when the product came to the shop: "newest first"


class Customer(SQLModel, table=True):
    """One identity on one channel (a Telegram user, a WhatsApp number, the console).

    Identities that proved the same phone number are one person (shop/persons.py):
    `person_id` points at the person's oldest identity, which points nowhere. A
    person's language and consent are written to each of its identities alike.
    """

    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_customer_identity"),
        # An identity points only at an older one: no chain of links can come round to itself.
        CheckConstraint("person_id < id", name="person_older"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    display_name: str = ""
    locale: str | None = Field(default=None, max_length=8)
    marketing_consent: bool = False
    consent_at: datetime | None = _utc(nullable=True)
    first_source: str | None = Field(default=None, max_length=64)
    contact_name: str | None = None
    contact_phone: str | None = Field(default=None, max_length=32)
    delivery_address: str | None = None
    first_seen_at: datetime = _utc()
    last_inbound_at: datetime | None = _utc(nullable=True)
    # Since when the channel refuses to reach them (they blocked the bot); cleared when they write.
    unreachable_at: datetime | None = _utc(nullable=True)
    locale_at: datetime | None = _utc(nullable=True)  # when the language was chosen
    # No foreign key: SQLite could not drop the column again without rebuilding the table,
    # which the tables referring to customers refuse; no identity is ever deleted.
    person_id: int | None = Field(default=None, index=True)
    # The number the channel proved is theirs (E.164 digits, no "+"): WhatsApp's sender,
    # a Telegram contact of the user themselves. Never a number merely typed.
    phone: str | None = Field(default=None, max_length=15, index=True)
    # The broadcast that last reached them, and when: a visit soon after is credited to it
    # (shop/broadcasts.py). No foreign key, as for `person_id`.
    last_broadcast_id: int | None = None
    last_broadcast_at: datetime | None = _utc(nullable=True)


# A cart whose reminder is not settled yet (shop/reminders.py): the scan reads only these.
CART_UNSETTLED = "reminded_for IS NULL OR reminded_for < updated_at"


class Cart(SQLModel, table=True):
    """A customer's cart header: the promo code they entered, when it last changed.

    `reminded_for` is the `updated_at` whose reminder was settled (written, or found
    not wanted): a cart changed since is a new cart, whose reminder is still to settle.
    """

    __tablename__ = "cart"
    __table_args__ = (
        Index(
            "ix_cart_unsettled",
            "updated_at",
            sqlite_where=text(CART_UNSETTLED),
            postgresql_where=text(CART_UNSETTLED),
        ),
    )

    customer_id: int = Field(primary_key=True, foreign_key="customer.id", ondelete="CASCADE")
    promo_code: str | None = Field(default=None, max_length=32)
    updated_at: datetime = _utc()
    reminded_for: datetime | None = _utc(nullable=True)


class CartItem(SQLModel, table=True):
    """A product and how many of it sit in a customer's cart."""

    __tablename__ = "cart_item"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    customer_id: int = Field(primary_key=True, foreign_key="customer.id", ondelete="CASCADE")
    product_id: int = Field(primary_key=True, foreign_key="product.id", ondelete="CASCADE")
    quantity: int
    added_at: datetime = _utc()


class StockRequest(SQLModel, table=True):
    """A customer's "Notify me" on a sold-out product; consumed when they are told it is back."""

    __tablename__ = "stock_request"

    customer_id: int = Field(primary_key=True, foreign_key="customer.id", ondelete="CASCADE")
    product_id: int = Field(
        primary_key=True, foreign_key="product.id", ondelete="CASCADE", index=True
    )
    created_at: datetime = _utc()


class PromoCode(SQLModel, table=True):
    """A discount code: percent or a fixed amount, with its limits.

    `usage_limit` caps the uses by everyone, `per_customer` those by one customer
    (None: no cap); an order cancelled before payment gives its use back.
    """

    __tablename__ = "promo_code"
    __table_args__ = (
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("per_customer > 0", name="per_customer_positive"),
    )

    code: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=8)
    value: int
    currency: str | None = Field(default=None, max_length=3)
    min_total: int = 0
    starts_at: datetime | None = _utc(nullable=True)
    ends_at: datetime | None = _utc(nullable=True)
    usage_limit: int | None = None
    used_count: int = 0
    per_customer: int | None = 1
    active: bool = True


class PromoRedemption(SQLModel, table=True):
    """A use of a promo code by an order; counted per customer against `per_customer`."""

    __tablename__ = "promo_redemption"
    __table_args__ = (Index("ix_promo_redemption_customer", "code", "customer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(foreign_key="promo_code.code", max_length=32)
    customer_id: int = Field(foreign_key="customer.id")
    order_id: int = Field(foreign_key="shop_order.id", ondelete="CASCADE", index=True)
    at: datetime = _utc()


class Order(SQLModel, table=True):
    """A checkout: a snapshot of what was bought, for how much, and where it goes."""

    __tablename__ = "shop_order"
    __table_args__ = (
        Index("ix_order_customer", "customer_id", "id"),
        Index("ix_order_hold_expiry", "reservation", "reserved_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    status: str = Field(default=OrderStatus.PENDING_PAYMENT, max_length=24, index=True)
    currency: str = Field(max_length=3)
    subtotal: int
    discount: int = 0
    delivery_price: int = 0
    total: int
    promo_code: str | None = Field(default=None, max_length=32)
    contact_name: str | None = None
    contact_phone: str | None = Field(default=None, max_length=32)
    delivery_method: str = Field(default="none", max_length=32)
    delivery_address: str | None = None
    digital: bool = False
    reservation: str = Field(default=Reservation.HELD, max_length=16)
    reserved_until: datetime = _utc()
    channel: str = Field(max_length=16)
    source: str | None = Field(default=None, max_length=64)
    carrier: str | None = None
    tracking_number: str | None = None
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class OrderLine(SQLModel, table=True):
    """One product of an order, as it was when bought."""

    __tablename__ = "order_line"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", ondelete="CASCADE", index=True)
    product_id: int | None = Field(default=None, foreign_key="product.id", ondelete="SET NULL")
    sku: str = Field(max_length=64)
    title: str
    title_i18n: dict[str, str] = _json()
    unit_price: int
    quantity: int
    digital: bool = False


class OrderEvent(SQLModel, table=True):
    """A change of an order's status: the customer's tracking timeline."""

    __tablename__ = "order_event"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", ondelete="CASCADE", index=True)
    status: str = Field(max_length=24)
    at: datetime = _utc()
    note: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    actor: str = Field(default="system", max_length=32)


class TogetherPair(SQLModel, table=True):
    """How many paid, unrefunded orders held both products; kept both ways round (shop/together.py).

    No foreign keys: a pair is only read joined to the products on sale, and the
    background fold that writes it should not wait on the catalog's locks.
    """

    __tablename__ = "together_pair"
    __table_args__ = (
        # A product's partners, most orders first: a card reads the first few and stops.
        Index("ix_together_pair_ranked", "product_id", "orders", "other_id"),
        {"sqlite_with_rowid": False},
    )

    product_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    other_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    orders: int = 0


class TogetherBestSeller(SQLModel, table=True):
    """One of a category's best sellers (most `product.sold`), a few deep (shop/together.py).

    Chosen again by the fold that counts an order of the category, so a card reads a
    few rows instead of ordering its whole shelf by sales.
    """

    __tablename__ = "together_best_seller"
    __table_args__ = ({"sqlite_with_rowid": False},)

    category_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    product_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))


class TogetherFold(SQLModel, table=True):
    """How far the pair counts have taken in the orders' steps (one row; shop/together.py)."""

    __tablename__ = "together_fold"

    id: int = Field(default=1, primary_key=True)
    folded_upto: int = 0  # every paid and refunded step up to this order_event id is counted
    horizon: int = 0  # the newest order_event id when last looked: the next fold's end
    # PostgreSQL transactions that were writing order steps then: until they end, a step
    # below the horizon may still appear (ids are handed out before commit).
    horizon_writers: list[str] = _json_list()


class AnalyticsEvent(SQLModel, table=True):
    """One step of the funnel; append-only, read by reports."""

    __tablename__ = "analytics_event"
    __table_args__ = (
        # Kind and time first (counts, payments of a period), then all that the money and
        # sales reports read of a paid or refunded event: they never touch the table.
        Index(
            "ix_analytics_kind_at_covering",
            "kind",
            "at",
            "customer_id",
            "order_id",
            "value",
            "source",
            "channel",
        ),
        Index("ix_analytics_source_at", "source", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc()
    kind: str = Field(max_length=32)
    customer_id: int | None = Field(default=None, index=True)
    channel: str | None = Field(default=None, max_length=16)
    source: str | None = Field(default=None, max_length=64)
    product_id: int | None = None
    order_id: int | None = None
    value: int | None = None
    data: dict[str, Any] = _json()


class FunnelReach(SQLModel, table=True):
    """When a customer last reached each funnel step, on a channel from a source ("*": any).

    Kept beside each funnel event (shop/analytics.py), four rows a customer:
    (channel, source), (channel, "*"), ("*", source) and ("*", "*"); a source of
    "" is none. The funnel report reads these instead of every event.
    """

    __tablename__ = "funnel_reach"
    # The report reads a range of it per part, from the period's first visit, never the table.
    __table_args__ = (
        Index(
            "ix_funnel_reach_steps",
            "channel",
            "source",
            "visit_at",
            "view_at",
            "cart_at",
            "checkout_at",
            "paid_at",
        ),
        # On SQLite the key is the table (no second B-tree to write beside each event).
        {"sqlite_with_rowid": False},
    )

    channel: str = Field(primary_key=True, max_length=16)
    source: str = Field(primary_key=True, max_length=64)
    customer_id: int = Field(primary_key=True)
    visit_at: datetime | None = _utc(nullable=True)
    view_at: datetime | None = _utc(nullable=True)
    cart_at: datetime | None = _utc(nullable=True)
    checkout_at: datetime | None = _utc(nullable=True)
    paid_at: datetime | None = _utc(nullable=True)


class Payment(SQLModel, table=True):
    """One attempt to pay an order through one provider, and what became of it.

    Amount and currency are what the provider was asked to charge, computed from
    the order in the database. `claim_order_id` is set on the one payment that
    pays its order: unique, so a second charge can never count twice.
    """

    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("provider", "external_id", name="uq_payment_external"),
        Index("ix_payment_order", "order_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id")
    provider: str = Field(max_length=16)
    external_id: str | None = Field(default=None, max_length=255)
    token: str | None = Field(default=None, max_length=64, unique=True)
    status: str = Field(max_length=16, index=True)
    amount: int
    currency: str = Field(max_length=3)
    url: str | None = None
    return_url: str | None = None
    charge_id: str | None = Field(default=None, max_length=255)
    refund_id: str | None = Field(default=None, max_length=255)
    reason: str | None = Field(default=None, max_length=32)
    note: str | None = None
    data: dict[str, Any] = _json()
    claim_order_id: int | None = Field(default=None, unique=True)
    expires_at: datetime = _utc()
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    paid_at: datetime | None = _utc(nullable=True)
    refunded_at: datetime | None = _utc(nullable=True)
    # A refund the provider did not confirm yet is tried again from `retry_at` on;
    # `attempts` counts the tries, for the backoff.
    attempts: int = 0
    retry_at: datetime | None = _utc(nullable=True)


class ConversationRecord(SQLModel, table=True):
    """Where a customer is in the conversation (bot/stores.py): survives restarts mid-checkout."""

    __tablename__ = "conversation_state"

    customer_id: int = Field(primary_key=True, foreign_key="customer.id", ondelete="CASCADE")
    step: str = Field(default="", max_length=64)
    data: dict[str, Any] = _json()
    version: int = 0  # bumped on every save; a writer holding an older one is refused
    updated_at: datetime = _utc()


class StaffConversation(SQLModel, table=True):
    """Where a staff member is in a staff conversation (shipping an order): survives restarts.

    Keyed by the staff member's Telegram id (ADMIN_TELEGRAM_IDS), not a customer:
    a staff member's own shopping keeps its state in `conversation_state`.
    """

    __tablename__ = "staff_conversation"

    staff_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    step: str = Field(default="", max_length=64)
    data: dict[str, Any] = _json()
    version: int = 0  # bumped on every save; a writer holding an older one is refused
    updated_at: datetime = _utc()


class Ticket(SQLModel, table=True):
    """A customer's question to the staff, as asked, and the one answer it got."""

    __tablename__ = "ticket"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", ondelete="CASCADE", index=True)
    channel: str = Field(max_length=16)
    name: str = ""  # the customer's name when they asked, as the staff were shown it
    locale: str = Field(max_length=8)
    text: str
    created_at: datetime = _utc()
    answered_at: datetime | None = _utc(nullable=True)
    answered_by: str | None = Field(default=None, max_length=32)
    answer: str | None = None


class TicketMessage(SQLModel, table=True):
    """A copy of a ticket in a staff chat: a reply to that message answers the ticket."""

    __tablename__ = "ticket_message"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    message_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    ticket_id: int = Field(foreign_key="ticket.id", ondelete="CASCADE", index=True)


class ServerSecret(SQLModel, table=True):
    """A random key the server made for itself once, shared by every process on the database."""

    __tablename__ = "server_secret"

    name: str = Field(primary_key=True, max_length=32)
    value: str = Field(max_length=128)
    created_at: datetime = _utc()


class QrCode(SQLModel, table=True):
    """A short code that stands for a target and source too long to spell in a deep link.

    The code is derived from what it stands for (see `shop.deeplink.short_code`),
    so registering the same target and source again finds the same row.
    """

    __tablename__ = "qr_code"

    code: str = Field(primary_key=True, max_length=16)
    kind: str = Field(max_length=16)
    value: str = Field(max_length=200)
    source: str | None = Field(default=None, max_length=64)
    created_at: datetime = _utc()


class OutboundMessage(SQLModel, table=True):
    """A message the shop sends unasked, written in the transaction of the change that causes it.

    The delivery worker (bot/delivery.py) composes it in the recipient's language when it
    sends it. `channel` "staff" stands for every staff member: the worker gives each one
    a message of their own before any is sent.
    """

    __tablename__ = "outbound_message"
    __table_args__ = (
        Index("ix_outbound_due", "status", "due_at"),
        # A broadcast's message to a customer is written once, however often its audience
        # is written (a `broadcast resume` after a crash); other messages have no broadcast.
        UniqueConstraint("broadcast_id", "customer_id", name="uq_outbound_broadcast"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", ondelete="CASCADE")
    channel: str = Field(max_length=16)
    address: str = Field(max_length=64)  # the chat id, phone number or staff id on `channel`
    payload: dict[str, Any] = _json()
    priority: int = 1
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    due_at: datetime = _utc()  # not before then: a retry's backoff, or a message for later
    lease_until: datetime | None = _utc(nullable=True)  # a worker is sending it until then
    error: str | None = None
    created_at: datetime = _utc()
    sent_at: datetime | None = _utc(nullable=True)
    broadcast_id: int | None = Field(default=None, foreign_key="broadcast.id", ondelete="CASCADE")


class Broadcast(SQLModel, table=True):
    """A message staff send to a segment of consenting customers, one outbound message each.

    Its audience is the customers who existed when it was sent (`audience_upto`, the
    highest customer id then), written in batches: those up to `written_upto` have
    their message queued. `state` is "preparing" until every batch is written, then
    "queued"; how far delivery got is counted from its outbound messages.
    """

    __tablename__ = "broadcast"

    id: int | None = Field(default=None, primary_key=True)
    text: str
    segment: str = Field(max_length=200)
    channel: str | None = Field(default=None, max_length=16)  # None: every channel
    state: str = Field(default="preparing", max_length=16)
    audience_upto: int = 0
    written_upto: int = 0
    created_at: datetime = _utc()


class OutboundRef(SQLModel, table=True):
    """A platform's id for a message the shop sent unasked, and what the platform last said of it.

    One outbound message may go as several platform messages (a long text split, a
    photo); their status callbacks find it through these.
    """

    __tablename__ = "outbound_ref"

    channel: str = Field(primary_key=True, max_length=16)
    ref: str = Field(primary_key=True, max_length=64)
    outbound_id: int = Field(foreign_key="outbound_message.id", ondelete="CASCADE", index=True)
    status: str = Field(default="sent", max_length=16)  # sent, delivered, read, failed, undelivered
    error: str | None = None
    updated_at: datetime = _utc()


class InboundMessage(SQLModel, table=True):
    """A customer's message as a webhook delivered it, kept until it is handled and answered.

    Written before the webhook is answered, so a process that dies after answering
    leaves it to be handled by the next; its platform id is unique per channel, so
    a delivery the platform repeats is recognised and handled once. Its replies are
    kept with it once it is handled, so a process that dies while sending them
    leaves them to be sent by the next, not the message to be handled again.
    """

    __tablename__ = "inbound_message"
    __table_args__ = (
        UniqueConstraint("channel", "ref", name="uq_inbound_ref"),
        Index("ix_inbound_waiting", "status", "lease_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    ref: str = Field(max_length=64)  # the platform's id of the message (Twilio's MessageSid)
    sender: str = Field(max_length=64)  # the customer's id on the channel
    payload: dict[str, Any] = _json()  # what the webhook said, as the channel reads it
    # The replies to send, once it is handled: kept until they have gone.
    answer: list[Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: str = Field(default="pending", max_length=16)  # pending, answered, done
    attempts: int = 0
    received_at: datetime = _utc()
    lease_until: datetime | None = _utc(nullable=True)  # being handled by a process until then
    # When it was handled: replies created since may be ones a dead process sent.
    answered_at: datetime | None = _utc(nullable=True)


class Experiment(SQLModel, table=True):
    """An A/B test of one thing the flows vary (shop/experiments.py), running until it is stopped.

    `variants` and `weights` go together (the first variant is the control); at most
    one experiment per `thing` runs at a time (a partial unique index says so).
    """

    __tablename__ = "experiment"
    __table_args__ = (
        Index(
            "uq_experiment_running",
            "thing",
            unique=True,
            sqlite_where=text("stopped_at IS NULL"),
            postgresql_where=text("stopped_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    thing: str = Field(max_length=16)  # cta, buy_now, cart_promo
    variants: list[str] = Field(sa_column=Column(JSON, nullable=False))
    weights: list[int] = Field(sa_column=Column(JSON, nullable=False))
    promo_code: str | None = Field(default=None, foreign_key="promo_code.code", max_length=32)
    started_at: datetime = _utc()
    stopped_at: datetime | None = _utc(nullable=True)


class ExperimentExposure(SQLModel, table=True):
    """The first time a unit (a person, see `shop.experiments.unit_of`) saw an experiment's variant."""

    __tablename__ = "experiment_exposure"

    experiment_id: int = Field(primary_key=True, foreign_key="experiment.id", ondelete="CASCADE")
    unit_id: int = Field(primary_key=True)
    variant: str = Field(max_length=32)
    at: datetime = _utc()
