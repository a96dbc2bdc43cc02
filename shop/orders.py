"""Orders: checkout with an atomic stock reservation, payment settlement, and the status machine.

The rules that change an order are functions over the caller's transaction
(`lock_order`, `settle`, `move`, `take_form`), so the payment rules in
`payments/` record a payment and settle its order in one transaction;
`OrderService` runs them in transactions of their own for everyone else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection

from shop import outbox, persons, promos, stock
from shop import tables as t
from shop.analytics import EventKind, Visit, append_event
from shop.carts import CartView, load_cart
from shop.db import Database
from shop.errors import (
    CartEmptyError,
    IllegalTransitionError,
    NotFoundError,
    ProductUnavailableError,
    PromoRejectedError,
)
from shop.models import OrderEvent, OrderLine, OrderStatus, Reservation
from shop.pricing import NO_DELIVERY, DeliveryOption, DeliveryRules, Totals, example_rules
from shop.types import utcnow
from shop.views import OrderView

log = logging.getLogger(__name__)

S = OrderStatus
# Where each status may go. Paid orders are refunded, not cancelled: money has moved.
NEXT: dict[OrderStatus, tuple[OrderStatus, ...]] = {
    S.PENDING_PAYMENT: (S.PAID, S.CANCELLED),
    S.PAID: (S.PACKED, S.REFUNDED),
    S.PACKED: (S.SHIPPED, S.REFUNDED),
    S.SHIPPED: (S.DELIVERED, S.REFUNDED),
    S.DELIVERED: (S.REFUNDED,),
    S.CANCELLED: (),
    S.REFUNDED: (),
}
# Goods still on our shelf go back to stock when the order is refunded.
RESTOCK_ON_REFUND = (S.PAID, S.PACKED)
# An order in one of these has been paid (and not refunded).
PAID_STATUSES = (S.PAID, S.PACKED, S.SHIPPED, S.DELIVERED)
DEFAULT_HOLD = timedelta(minutes=30)

# The checkout's statements, built once (see shop/carts.py on why).
_INSERT_ORDER = t.order.insert().returning(t.order.c.id)
_INSERT_LINE = t.order_line.insert()
_INSERT_EVENT = t.order_event.insert().returning(t.order_event.c.id)
_EMPTY_CART = t.cart_item.delete().where(t.cart_item.c.customer_id == bindparam("customer_id"))
_DROP_CART_PROMO = (
    update(t.cart).where(t.cart.c.customer_id == bindparam("owner")).values(promo_code=None)
)


# Who makes the changes the shop makes by itself (an unpaid order whose hold ran out).
SHOP_ACTOR = "system"


@dataclass(frozen=True, slots=True)
class Contact:
    """Who receives the order."""

    name: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class OrderDetails:
    """An order with its lines and its timeline."""

    order: OrderView
    lines: list[OrderLine]
    events: list[OrderEvent]


@dataclass(frozen=True, slots=True)
class Quote:
    """What an order would cost before it is placed: the goods, and each delivery option's price."""

    goods: Totals
    digital_only: bool
    options: tuple[tuple[DeliveryOption, Totals], ...]


class Settlement(StrEnum):
    """What confirming a payment did."""

    PAID = "paid"  # the order is now paid (its stock committed)
    ALREADY_PAID = "already_paid"  # a repeat: nothing changed
    REFUND = "refund"  # the order cannot take this payment: give the money back


class OrderService:
    """Turns carts into orders and moves orders through their life."""

    def __init__(
        self,
        db: Database,
        *,
        delivery: DeliveryRules | None = None,
        hold: timedelta = DEFAULT_HOLD,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._delivery = delivery or example_rules("USD")
        self._hold = hold
        self._clock = clock

    @property
    def delivery(self) -> DeliveryRules:
        """Return the shop's delivery rules (what each way of delivery costs)."""
        return self._delivery

    @property
    def hold(self) -> timedelta:
        """Return how long an unpaid order holds its stock."""
        return self._hold

    async def quote(self, customer_id: int, *, only: tuple[int, int] | None = None) -> Quote:
        """Return what the cart (or, with `only`, one product bought at once) would cost with each delivery option."""
        now = self._clock()

        def work(conn: Connection) -> CartView:
            return load_cart(conn, customer_id, now, only=only)

        cart = await self._db.read(work)
        if cart.digital_only:
            return Quote(cart.totals, True, ())
        options = tuple(
            (option, cart.totals.delivered(option)) for option in self._delivery.options
        )
        return Quote(cart.totals, False, options)

    async def checkout(
        self,
        customer_id: int,
        *,
        channel: str,
        source: str | None = None,
        contact: Contact | None = None,
        delivery: str | None = None,
        address: str | None = None,
        only: tuple[int, int] | None = None,
    ) -> OrderView:
        """Turn the cart into an order and reserve its stock until the hold expires.

        With `only` = (product id, quantity), buy just that product at once ("Buy now"):
        the rest of the cart stays as it is. All or nothing: if any product is short,
        nothing is reserved and the cart stays.

        Raises:
            CartEmptyError: nothing to buy.
            OutOfStockError: with what is left of each short product.
            PromoRejectedError: the cart's promo code no longer applies.
            ProductUnavailableError: a product is no longer sold.
            UnknownDeliveryError: not a delivery option of the shop.
        """
        now = self._clock()
        contact = contact or Contact()

        def work(conn: Connection) -> OrderView:
            cart = load_cart(conn, customer_id, now, only=only)
            if not cart.lines:
                raise CartEmptyError
            if cart.promo_problem is not None:
                raise cart.promo_problem
            for line in cart.lines:
                if not line.product.active:
                    raise ProductUnavailableError(line.product.sku, "no longer sold")
            option = self._delivery.get(
                delivery or self._delivery.default.id, digital_only=cart.digital_only
            )
            totals = cart.totals.delivered(option)
            wanted = [
                (ln.product.id, ln.product.sku, ln.product.title, ln.quantity) for ln in cart.lines
            ]
            stock.reserve(conn, wanted, cart_of=customer_id if only is None else None)
            values: dict[str, Any] = {
                "customer_id": customer_id,
                "status": OrderStatus.PENDING_PAYMENT,
                "currency": totals.currency,
                "subtotal": totals.subtotal,
                "discount": totals.discount,
                "delivery_price": totals.delivery,
                "total": totals.total,
                "promo_code": cart.promo_code if cart.discount else None,
                "contact_name": contact.name,
                "contact_phone": contact.phone,
                "delivery_method": option.id,
                "delivery_address": address if option.needs_address else None,
                "digital": cart.digital_only,
                "reservation": Reservation.HELD,
                "reserved_until": now + self._hold,
                "channel": channel,
                "source": source,
                "created_at": now,
                "updated_at": now,
                "carrier": None,
                "tracking_number": None,
            }
            order_id: int = conn.execute(_INSERT_ORDER, values).scalar_one()
            order = OrderView(id=order_id, **values)
            conn.execute(
                _INSERT_LINE,
                [
                    {
                        "order_id": order_id,
                        "product_id": line.product.id,
                        "sku": line.product.sku,
                        "title": line.product.title,
                        "title_i18n": line.product.title_i18n,
                        "unit_price": line.product.price,
                        "quantity": line.quantity,
                        "digital": line.product.digital,
                    }
                    for line in cart.lines
                ],
            )
            _add_event(conn, order_id, OrderStatus.PENDING_PAYMENT, now, actor="customer")
            if order.promo_code:
                _redeem(conn, order, now)
            if only is None:
                conn.execute(_EMPTY_CART, {"customer_id": customer_id})
            if order.promo_code or (only is None and cart.promo_code):
                conn.execute(_DROP_CART_PROMO, {"owner": customer_id})
            if contact.name or contact.phone or order.delivery_address:
                _remember_contact(conn, customer_id, contact, order.delivery_address)
            append_event(
                conn,
                EventKind.CHECKOUT,
                Visit(customer_id, channel, source),
                now,
                order_id=order.id,
                value=order.total,
            )
            return order

        return await self._db.write(work)

    async def get(self, order_id: int, *, customer_id: int | None = None) -> OrderDetails:
        """Return an order with lines and timeline; with `customer_id`, only if it is theirs.

        Theirs is any of their person's: placed on any channel they proved one number on.
        """

        def work(conn: Connection) -> OrderDetails:
            row = (conn.execute(select(t.order).where(t.order.c.id == order_id))).first()
            if row is None or not _theirs(conn, row.customer_id, customer_id):
                raise NotFoundError("order", order_id)
            lines = conn.execute(
                select(t.order_line)
                .where(t.order_line.c.order_id == order_id)
                .order_by(t.order_line.c.id)
            )
            events = conn.execute(
                select(t.order_event)
                .where(t.order_event.c.order_id == order_id)
                .order_by(t.order_event.c.at, t.order_event.c.id)
            )
            return OrderDetails(
                OrderView.from_row(row),
                [OrderLine(**r._mapping) for r in lines],
                [OrderEvent(**r._mapping) for r in events],
            )

        return await self._db.read(work)

    async def list_for_customer(self, customer_id: int, limit: int = 10) -> list[OrderView]:
        """Return a customer's latest orders on every channel of their person's, newest first."""
        return await self.list_orders(customer_id=customer_id, limit=limit)

    async def list_orders(
        self,
        *,
        customer_id: int | None = None,
        status: OrderStatus | None = None,
        limit: int = 50,
    ) -> list[OrderView]:
        """Return orders, newest first, optionally of one customer (their person's) or in one status."""
        query = select(t.order).order_by(t.order.c.id.desc()).limit(limit)
        if customer_id is not None:
            query = query.where(t.order.c.customer_id.in_(persons.identity_ids(customer_id)))
        if status is not None:
            query = query.where(t.order.c.status == status.value)

        def work(conn: Connection) -> list[OrderView]:
            return [OrderView.from_row(r) for r in conn.execute(query)]

        return await self._db.read(work)

    async def confirm_payment(self, order_id: int, *, actor: str = "payment") -> Settlement:
        """Settle a verified payment for an order in a transaction of its own (see `settle`)."""
        now = self._clock()

        def work(conn: Connection) -> Settlement:
            return settle(conn, order_id, now, actor=actor)

        return await self._db.write(work)

    async def transition(
        self,
        order_id: int,
        to: OrderStatus,
        *,
        actor: str = "staff",
        note: str | None = None,
        carrier: str | None = None,
        tracking_number: str | None = None,
        customer_id: int | None = None,
        tell: bool = True,
        expected: OrderStatus | None = None,
    ) -> OrderView:
        """Move an order to `to`, or raise IllegalTransitionError saying why not.

        Payment is not a transition anyone may ask for: it comes through `settle`.
        With `customer_id`, the order must be theirs. The customer is told of the change
        in their chat unless `tell` is false (they made it there and saw the answer).
        With `expected`, the order must still be in that status (what the person asking
        saw), decided under the order's lock: a move made meanwhile is never built upon.
        """
        now = self._clock()

        def work(conn: Connection) -> OrderView:
            order = lock_order(conn, order_id)
            if order is None or not _theirs(conn, order.customer_id, customer_id):
                raise NotFoundError("order", order_id)
            if expected is not None and order.status != expected:
                reason = f"it is {order.status} now, not {expected.value} as shown"
                raise IllegalTransitionError(order_id, order.status, to.value, reason)
            return move(
                conn,
                order,
                to,
                now,
                actor=actor,
                note=note,
                carrier=carrier,
                tracking_number=tracking_number,
                tell=tell,
            )

        return await self._db.write(work)

    async def expire_holds(self) -> list[int]:
        """Cancel unpaid orders whose hold ran out and give their stock back, exactly once."""
        now = self._clock()

        def work(conn: Connection) -> list[int]:
            candidates = (
                select(t.order.c.id)
                .where(
                    t.order.c.reservation == Reservation.HELD,
                    t.order.c.status == OrderStatus.PENDING_PAYMENT,
                    t.order.c.reserved_until <= now,
                )
                .order_by(t.order.c.id)
            )
            if not self._db.is_sqlite:  # a payment holding one of them wins; the next sweep sees it
                candidates = candidates.with_for_update(skip_locked=True)
            ids = list((conn.execute(candidates)).scalars())
            if not ids:
                return []
            expired = (
                conn.execute(
                    update(t.order)
                    .where(
                        t.order.c.id.in_(ids),
                        t.order.c.reservation == Reservation.HELD,
                        t.order.c.status == OrderStatus.PENDING_PAYMENT,
                    )
                    .values(status=OrderStatus.CANCELLED, updated_at=now)
                    .returning(
                        t.order.c.id,
                        t.order.c.customer_id,
                        t.order.c.channel,
                        t.order.c.source,
                        t.order.c.total,
                    )
                )
            ).all()
            stock.release(conn, [r.id for r in expired], Reservation.EXPIRED, now)
            for r in expired:
                event_id = _add_event(
                    conn, r.id, OrderStatus.CANCELLED, now, note="payment time ran out"
                )
                append_event(
                    conn,
                    EventKind.EXPIRED,
                    Visit(r.customer_id, r.channel, r.source),
                    now,
                    order_id=r.id,
                    value=r.total,
                )
                _tell(conn, r.customer_id, r.id, S.CANCELLED, S.PENDING_PAYMENT, event_id, now)
            return [r.id for r in expired]

        return await self._db.write(work)


def lock_order(conn: Connection, order_id: int | None) -> OrderView | None:
    """Return an order, holding its row until the transaction ends, so changes to it go one at a time.

    PostgreSQL locks the row (FOR UPDATE); SQLite needs nothing, having one writer.
    """
    query = select(t.order).where(t.order.c.id == order_id)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else OrderView.from_row(row)


def settle(conn: Connection, order_id: int, now: datetime, *, actor: str) -> Settlement:
    """Mark an order paid by a verified payment: exactly once, never overselling.

    The order's row is held while it is decided, and every update re-checks the
    state it was decided on, so concurrent confirmations of one order settle it
    once and the rest see it already paid. A payment for an order whose hold ran
    out takes the stock, and the promo code's use, again if they are still
    there; otherwise, and for an order cancelled or refunded on purpose, the
    answer is REFUND and nothing changes. A paid order is pushed to its customer and
    announced to the staff in the same transaction.

    Raises:
        NotFoundError: no such order.
    """
    order = lock_order(conn, order_id)
    if order is None:
        raise NotFoundError("order", order_id)
    if order.status in PAID_STATUSES:
        return Settlement.ALREADY_PAID
    if order.status == S.PENDING_PAYMENT and order.reservation == Reservation.HELD:
        previous, note = S.PENDING_PAYMENT, None
    elif order.status == S.CANCELLED and order.reservation == Reservation.EXPIRED:
        if not _retake(conn, order, now):
            return Settlement.REFUND
        previous, note = S.CANCELLED, "hold expired before payment; stock reserved again"
        log.info("order %s paid after its hold expired; stock reserved again (%s)", order_id, actor)
    else:
        return Settlement.REFUND
    paid = conn.execute(
        update(t.order)
        .where(
            t.order.c.id == order_id,
            t.order.c.status == order.status,
            t.order.c.reservation == order.reservation,
        )
        .values(status=S.PAID, reservation=Reservation.COMMITTED, updated_at=now)
    )
    if paid.rowcount != 1:  # only a caller that skipped the lock could get here
        raise RuntimeError(f"order {order_id} changed while it was being settled")
    stock.count_sold(conn, order_id, +1)
    event_id = _add_event(conn, order_id, S.PAID, now, actor=actor, note=note)
    visit = Visit(order.customer_id, order.channel, order.source)
    append_event(conn, EventKind.PAID, visit, now, order_id=order_id, value=order.total)
    _tell(conn, order.customer_id, order_id, S.PAID, previous, event_id, now)
    outbox.to_staff(conn, outbox.Kind.STAFF_ALERT, {"event": "paid", "order_id": order_id}, now)
    return Settlement.PAID


def _retake(conn: Connection, order: OrderView, now: datetime) -> bool:
    """Reserve a lapsed order's stock and promo use again; False, changing nothing, if either is gone."""
    savepoint = conn.begin_nested()
    if not stock.retake(conn, order.id):
        savepoint.rollback()
        return False
    if order.promo_code:
        try:
            _redeem(conn, order, now)
        except PromoRejectedError:
            savepoint.rollback()
            return False
    savepoint.commit()
    return True


def _redeem(conn: Connection, order: OrderView, now: datetime) -> None:
    """Count the order's promo code as used by it, within the code's limits.

    Raises:
        PromoRejectedError: the code is used up, or this customer used it as often as it allows.
    """
    assert order.promo_code is not None
    promo = promos.load_promo(conn, order.promo_code)
    if promo is None:
        return  # the code was deleted since; the price was agreed with it
    promos.redeem(conn, promo, order.customer_id, order.id, now)


def move(
    conn: Connection,
    order: OrderView,
    to: OrderStatus,
    now: datetime,
    *,
    actor: str,
    note: str | None = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
    tell: bool = True,
) -> OrderView:
    """Move a locked order (see `lock_order`) to `to`, or raise IllegalTransitionError saying why not.

    Returns the order as it now is. With `tell`, its customer is told in the same transaction.
    """
    current = OrderStatus(order.status)
    _check_transition(order.id, current, to)
    if to == S.CANCELLED:
        stock.release(conn, [order.id], Reservation.RELEASED, now)
    elif to == S.REFUNDED and current in RESTOCK_ON_REFUND:
        stock.restock(conn, [order.id], now)
        stock.count_sold(conn, order.id, -1)
    values: dict[str, Any] = {"status": to.value, "updated_at": now}
    if carrier is not None:
        values["carrier"] = carrier
    if tracking_number is not None:
        values["tracking_number"] = tracking_number
    conn.execute(update(t.order).where(t.order.c.id == order.id).values(**values))
    event_id = _add_event(
        conn,
        order.id,
        to,
        now,
        actor=actor,
        note=note,
        carrier=carrier,
        tracking_number=tracking_number,
    )
    kind = {S.CANCELLED: EventKind.CANCELLED, S.REFUNDED: EventKind.REFUNDED}.get(to)
    if kind is not None:
        visit = Visit(order.customer_id, order.channel, order.source)
        append_event(conn, kind, visit, now, order_id=order.id, value=order.total)
    if tell:
        _tell(conn, order.customer_id, order.id, to, current, event_id, now)
    return replace(order, **values)


def take_form(
    conn: Connection,
    order: OrderView,
    now: datetime,
    *,
    contact: Contact,
    option: DeliveryOption | None,
    address: str | None,
) -> OrderView:
    """Take the details a payment form collected into an order that waits for payment.

    A delivery option chosen there prices the order anew (see `shop.pricing`).
    """
    values: dict[str, Any] = {"updated_at": now}
    if contact.name:
        values["contact_name"] = contact.name
    if contact.phone:
        values["contact_phone"] = contact.phone
    if option is not None:
        totals = order.totals.delivered(option)
        values.update(
            delivery_method=option.id,
            delivery_price=totals.delivery,
            total=totals.total,
            delivery_address=address if option.needs_address else None,
        )
    elif address and order.delivery_method != NO_DELIVERY.id:
        values["delivery_address"] = address
    conn.execute(update(t.order).where(t.order.c.id == order.id).values(**values))
    return replace(order, **values)


def _theirs(conn: Connection, owner: int, customer_id: int | None) -> bool:
    """Tell whether an order of `owner` is the customer's (any order, with no customer named)."""
    return customer_id is None or persons.same_person(conn, owner, customer_id)


def _check_transition(order_id: int, current: OrderStatus, to: OrderStatus) -> None:
    """Raise with a reason a person can read if `current` may not become `to`."""
    if to == S.PAID:
        reason = "payment is confirmed by the payment provider, not set by hand"
    elif to == current:
        reason = f"the order is already {current.value}"
    elif not NEXT[current]:
        reason = f"the order is {current.value}; nothing follows"
    elif to == S.CANCELLED and current != S.PENDING_PAYMENT:
        reason = "a paid order is refunded, not cancelled"
    elif to not in NEXT[current]:
        allowed = " or ".join(s.value for s in NEXT[current])
        reason = f"from {current.value} an order goes to {allowed}"
    else:
        return
    raise IllegalTransitionError(order_id, current.value, to.value, reason)


def _remember_contact(
    conn: Connection, customer_id: int, contact: Contact, address: str | None
) -> None:
    """Keep the details of an order on the customer, to offer them next time."""
    conn.execute(
        update(t.customer)
        .where(t.customer.c.id == customer_id)
        .values(
            contact_name=func.coalesce(contact.name, t.customer.c.contact_name),
            contact_phone=func.coalesce(contact.phone, t.customer.c.contact_phone),
            delivery_address=func.coalesce(address, t.customer.c.delivery_address),
        )
    )


def _tell(
    conn: Connection,
    customer_id: int,
    order_id: int,
    status: OrderStatus,
    previous: OrderStatus,
    event_id: int,
    now: datetime,
) -> None:
    """Queue the message telling a customer their order's new status, with the timeline so far."""
    payload = {"order_id": order_id, "status": status, "previous": previous, "event_id": event_id}
    outbox.to_customer(conn, customer_id, outbox.Kind.ORDER_STATUS, payload, now)


def _add_event(
    conn: Connection,
    order_id: int,
    status: OrderStatus,
    at: datetime,
    *,
    actor: str = SHOP_ACTOR,
    note: str | None = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
) -> int:
    """Append a step to the order's timeline; return its id."""
    event_id: int = conn.execute(
        _INSERT_EVENT,
        {
            "order_id": order_id,
            "status": status.value,
            "at": at,
            "note": note,
            "carrier": carrier,
            "tracking_number": tracking_number,
            "actor": actor,
        },
    ).scalar_one()
    return event_id
