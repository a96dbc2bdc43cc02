"""Orders: checkout with an atomic stock reservation, payment settlement, and the status machine."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection

from shop import promos
from shop import tables as t
from shop.analytics import EventKind, Visit, append_event
from shop.carts import CartView, load_cart
from shop.db import Database
from shop.delivery import DeliveryRules
from shop.errors import (
    CartEmptyError,
    IllegalTransitionError,
    NotFoundError,
    OutOfStockError,
    ProductUnavailableError,
    Shortage,
)
from shop.models import (
    OrderEvent,
    OrderLine,
    OrderStatus,
    Reservation,
)
from shop.sql import bump_revision
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
_INSERT_EVENT = t.order_event.insert()
_EMPTY_CART = t.cart_item.delete().where(t.cart_item.c.customer_id == bindparam("customer_id"))
_RESERVE_CART = (
    update(t.product)
    .where(
        t.product.c.id == t.cart_item.c.product_id,
        t.cart_item.c.customer_id == bindparam("customer_id"),
        t.product.c.stock >= t.cart_item.c.quantity,
    )
    .values(stock=t.product.c.stock - t.cart_item.c.quantity)
    .returning(t.product.c.id, t.product.c.stock)
)


@dataclass(frozen=True, slots=True)
class Contact:
    """Who receives the order."""

    name: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class OrderChange:
    """A status change, as channels need it to tell the customer."""

    order_id: int
    customer_id: int
    channel: str
    status: OrderStatus
    previous: OrderStatus | None
    at: datetime
    carrier: str | None = None
    tracking_number: str | None = None


@dataclass(frozen=True, slots=True)
class OrderDetails:
    """An order with its lines and its timeline."""

    order: OrderView
    lines: list[OrderLine]
    events: list[OrderEvent]


class Settlement(StrEnum):
    """What confirming a payment did."""

    PAID = "paid"  # the order is now paid (its stock committed)
    ALREADY_PAID = "already_paid"  # a repeat: nothing changed
    REFUND = "refund"  # the order cannot take this payment: give the money back


Listener = Callable[[OrderChange], Awaitable[None]]


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
        self._delivery = delivery or DeliveryRules()
        self._hold = hold
        self._clock = clock
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` after every committed status change (to push it to the customer)."""
        self._listeners.append(listener)

    @property
    def delivery(self) -> DeliveryRules:
        """Return the shop's delivery rules (what each way of delivery costs)."""
        return self._delivery

    async def checkout(
        self,
        customer_id: int,
        *,
        channel: str,
        source: str | None = None,
        contact: Contact | None = None,
        delivery: str = "pickup",
        address: str | None = None,
    ) -> OrderView:
        """Turn the cart into an order and reserve its stock until the hold expires.

        All or nothing: if any product is short, nothing is reserved and the cart stays.

        Raises:
            CartEmptyError: nothing to buy.
            OutOfStockError: with what is left of each short product.
            PromoRejectedError: the cart's promo code no longer applies.
            ProductUnavailableError: a product is no longer sold.
        """
        now = self._clock()
        contact = contact or Contact()

        def work(conn: Connection) -> tuple[OrderView, OrderChange]:
            cart = load_cart(conn, customer_id, now)
            if not cart.lines:
                raise CartEmptyError
            if cart.promo_problem is not None:
                raise cart.promo_problem
            for line in cart.lines:
                if not line.product.active:
                    raise ProductUnavailableError(line.product.sku, "no longer sold")
            option = self._delivery.get(delivery, digital_only=cart.digital_only)
            reserved = self._reserve_cart(conn, cart)
            values: dict[str, Any] = {
                "customer_id": customer_id,
                "status": OrderStatus.PENDING_PAYMENT,
                "currency": cart.currency or "",
                "subtotal": cart.subtotal,
                "discount": cart.discount,
                "delivery_price": option.price_for(cart.total),
                "total": cart.total + option.price_for(cart.total),
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
                found = promos.load_promo(conn, order.promo_code, customer_id)
                if found is not None:
                    promos.redeem(conn, found[0], customer_id, order_id, now)
            conn.execute(_EMPTY_CART, {"customer_id": customer_id})
            if cart.promo_code:
                conn.execute(
                    update(t.cart)
                    .where(t.cart.c.customer_id == customer_id)
                    .values(promo_code=None)
                )
            if contact.name or contact.phone or order.delivery_address:
                conn.execute(
                    update(t.customer)
                    .where(t.customer.c.id == customer_id)
                    .values(
                        contact_name=func.coalesce(contact.name, t.customer.c.contact_name),
                        contact_phone=func.coalesce(contact.phone, t.customer.c.contact_phone),
                        delivery_address=func.coalesce(
                            order.delivery_address, t.customer.c.delivery_address
                        ),
                    )
                )
            append_event(
                conn,
                EventKind.CHECKOUT,
                Visit(customer_id, channel, source),
                now,
                order_id=order.id,
                value=order.total,
            )
            sold_out = [product_id for product_id, stock in reserved if stock == 0]
            if sold_out:  # search shows availability: tell it these ran out
                bump_revision(conn, sold_out)
            change = OrderChange(order_id, customer_id, channel, S.PENDING_PAYMENT, None, now)
            return order, change

        order, change = await self._db.write(work)
        await self._notify([change])
        return order

    def _reserve_cart(self, conn: Connection, cart: CartView) -> list[tuple[int, int]]:
        """Take the cart's quantities off stock in one statement; raise if any product is short."""
        ids = [line.product.id for line in cart.lines]
        _lock_products(conn, ids)
        rows = conn.execute(_RESERVE_CART, {"customer_id": cart.customer_id}).all()
        if len(rows) == len(ids):
            return [(r.id, r.stock) for r in rows]
        got = {r.id for r in rows}
        left = dict(
            (
                conn.execute(
                    select(t.product.c.id, t.product.c.stock).where(t.product.c.id.in_(ids))
                )
            ).all()
        )
        shortages = [
            Shortage(
                line.product.id or 0,
                line.product.sku,
                line.product.title,
                line.quantity,
                # Our own update took some units already: add them back for the message.
                left[line.product.id] + (line.quantity if line.product.id in got else 0),
            )
            for line in cart.lines
            if line.product.id not in got
        ]
        raise OutOfStockError(shortages)

    async def get(self, order_id: int, *, customer_id: int | None = None) -> OrderDetails:
        """Return an order with lines and timeline; with `customer_id`, only if it is theirs."""

        def work(conn: Connection) -> OrderDetails:
            row = (conn.execute(select(t.order).where(t.order.c.id == order_id))).first()
            if row is None or (customer_id is not None and row.customer_id != customer_id):
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
        """Return a customer's latest orders, newest first."""
        return await self.list_orders(customer_id=customer_id, limit=limit)

    async def list_orders(
        self,
        *,
        customer_id: int | None = None,
        status: OrderStatus | None = None,
        limit: int = 50,
    ) -> list[OrderView]:
        """Return orders, newest first, optionally of one customer or in one status."""
        query = select(t.order).order_by(t.order.c.id.desc()).limit(limit)
        if customer_id is not None:
            query = query.where(t.order.c.customer_id == customer_id)
        if status is not None:
            query = query.where(t.order.c.status == status.value)

        def work(conn: Connection) -> list[OrderView]:
            return [OrderView.from_row(r) for r in conn.execute(query)]

        return await self._db.read(work)

    async def confirm_payment(self, order_id: int, *, actor: str = "payment") -> Settlement:
        """Settle a verified payment for an order: exactly once, never overselling.

        A payment for an order whose hold expired takes its stock again if it is
        still there; otherwise, and for an order cancelled or refunded on purpose,
        the answer is REFUND and nothing changes.
        """
        now = self._clock()

        def work(conn: Connection) -> tuple[Settlement, list[OrderChange]]:
            paid = (
                conn.execute(
                    update(t.order)
                    .where(
                        t.order.c.id == order_id,
                        t.order.c.status == OrderStatus.PENDING_PAYMENT,
                        t.order.c.reservation == Reservation.HELD,
                    )
                    .values(
                        status=OrderStatus.PAID, reservation=Reservation.COMMITTED, updated_at=now
                    )
                    .returning(
                        t.order.c.customer_id, t.order.c.channel, t.order.c.source, t.order.c.total
                    )
                )
            ).first()
            if paid is None:
                outcome = self._settle_late(conn, order_id, now, actor)
                if outcome is not Settlement.PAID:
                    return outcome, []
                paid = (
                    conn.execute(
                        select(
                            t.order.c.customer_id,
                            t.order.c.channel,
                            t.order.c.source,
                            t.order.c.total,
                        ).where(t.order.c.id == order_id)
                    )
                ).one()
                note = "hold expired before payment; stock reserved again"
                previous = OrderStatus.CANCELLED
            else:
                note, previous = None, OrderStatus.PENDING_PAYMENT
            _count_sold(conn, order_id, +1)
            _add_event(conn, order_id, OrderStatus.PAID, now, actor=actor, note=note)
            append_event(
                conn,
                EventKind.PAID,
                Visit(paid.customer_id, paid.channel, paid.source),
                now,
                order_id=order_id,
                value=paid.total,
            )
            change = OrderChange(
                order_id, paid.customer_id, paid.channel, OrderStatus.PAID, previous, now
            )
            return Settlement.PAID, [change]

        outcome, changes = await self._db.write(work)
        await self._notify(changes)
        return outcome

    def _settle_late(
        self, conn: Connection, order_id: int, now: datetime, actor: str
    ) -> Settlement:
        """Decide a payment for an order that is not waiting for one."""
        row = (
            conn.execute(
                select(t.order.c.status, t.order.c.reservation).where(t.order.c.id == order_id)
            )
        ).first()
        if row is None:
            raise NotFoundError("order", order_id)
        if row.status in PAID_STATUSES:
            return Settlement.ALREADY_PAID
        if row.status != S.CANCELLED or row.reservation != Reservation.EXPIRED:
            return Settlement.REFUND
        lines = (
            conn.execute(
                select(t.order_line.c.product_id, t.order_line.c.quantity).where(
                    t.order_line.c.order_id == order_id
                )
            )
        ).all()
        if any(line.product_id is None for line in lines):
            return Settlement.REFUND
        _lock_order_products(conn, [order_id])
        savepoint = conn.begin_nested()
        taken = (
            conn.execute(
                update(t.product)
                .where(
                    t.product.c.id == t.order_line.c.product_id,
                    t.order_line.c.order_id == order_id,
                    t.product.c.stock >= t.order_line.c.quantity,
                )
                .values(stock=t.product.c.stock - t.order_line.c.quantity)
                .returning(t.product.c.id, t.product.c.stock)
            )
        ).all()
        if len(taken) != len(lines):
            savepoint.rollback()
            return Settlement.REFUND
        savepoint.commit()
        conn.execute(
            update(t.order)
            .where(t.order.c.id == order_id)
            .values(status=OrderStatus.PAID, reservation=Reservation.COMMITTED, updated_at=now)
        )
        sold_out = [r.id for r in taken if r.stock == 0]
        if sold_out:
            bump_revision(conn, sold_out)
        log.info("order %s paid after its hold expired; stock reserved again (%s)", order_id, actor)
        return Settlement.PAID

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
    ) -> OrderView:
        """Move an order to `to`, or raise IllegalTransitionError saying why not.

        Payment is not a transition anyone may ask for: it comes through `confirm_payment`.
        With `customer_id`, the order must be theirs.
        """
        now = self._clock()

        def work(conn: Connection) -> tuple[OrderView, OrderChange]:
            query = select(t.order).where(t.order.c.id == order_id)
            if not self._db.is_sqlite:
                query = query.with_for_update()
            row = (conn.execute(query)).first()
            if row is None or (customer_id is not None and row.customer_id != customer_id):
                raise NotFoundError("order", order_id)
            order = OrderView.from_row(row)
            current = OrderStatus(order.status)
            _check_transition(order_id, current, to)
            if to == S.CANCELLED:
                _release(conn, [order_id], Reservation.RELEASED)
            elif to == S.REFUNDED and current in RESTOCK_ON_REFUND:
                _restock(conn, [order_id])
                _count_sold(conn, order_id, -1)
            values: dict[str, Any] = {"status": to.value, "updated_at": now}
            if carrier is not None:
                values["carrier"] = carrier
            if tracking_number is not None:
                values["tracking_number"] = tracking_number
            conn.execute(update(t.order).where(t.order.c.id == order_id).values(**values))
            _add_event(
                conn,
                order_id,
                to,
                now,
                actor=actor,
                note=note,
                carrier=carrier,
                tracking_number=tracking_number,
            )
            kind = {S.CANCELLED: EventKind.CANCELLED, S.REFUNDED: EventKind.REFUNDED}.get(to)
            if kind is not None:
                append_event(
                    conn,
                    kind,
                    Visit(order.customer_id, order.channel, order.source),
                    now,
                    order_id=order_id,
                    value=order.total,
                )
            order = replace(order, **values)
            change = OrderChange(
                order_id,
                order.customer_id,
                order.channel,
                to,
                current,
                now,
                carrier,
                tracking_number,
            )
            return order, change

        order, change = await self._db.write(work)
        await self._notify([change])
        return order

    async def expire_holds(self) -> list[int]:
        """Cancel unpaid orders whose hold ran out and give their stock back, exactly once."""
        now = self._clock()

        def work(conn: Connection) -> list[OrderChange]:
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
            _release(conn, [r.id for r in expired], Reservation.EXPIRED)
            changes: list[OrderChange] = []
            for r in expired:
                _add_event(conn, r.id, OrderStatus.CANCELLED, now, note="payment time ran out")
                append_event(
                    conn,
                    EventKind.EXPIRED,
                    Visit(r.customer_id, r.channel, r.source),
                    now,
                    order_id=r.id,
                    value=r.total,
                )
                changes.append(
                    OrderChange(r.id, r.customer_id, r.channel, S.CANCELLED, S.PENDING_PAYMENT, now)
                )
            return changes

        changes = await self._db.write(work)
        await self._notify(changes)
        return [change.order_id for change in changes]

    async def _notify(self, changes: Sequence[OrderChange]) -> None:
        """Tell listeners about committed changes; a failing listener never undoes one."""
        for change in changes:
            for listener in self._listeners:
                try:
                    await listener(change)
                except Exception:  # the change is committed; report and go on
                    log.exception("order listener failed for order %s", change.order_id)


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


def _lock_products(conn: Connection, ids: Sequence[int | None]) -> None:
    """Lock product rows in id order on PostgreSQL, so concurrent writers never deadlock.

    SQLite needs nothing: a write transaction there holds the whole database.
    """
    if conn.dialect.name == "sqlite" or not ids:
        return
    conn.execute(
        select(t.product.c.id)
        .where(t.product.c.id.in_(ids))
        .order_by(t.product.c.id)
        .with_for_update()
    )


def _lock_order_products(conn: Connection, order_ids: list[int]) -> None:
    """Lock, in id order, the products of these orders (PostgreSQL only, as above)."""
    if conn.dialect.name == "sqlite":
        return
    in_orders = select(t.order_line.c.product_id).where(t.order_line.c.order_id.in_(order_ids))
    conn.execute(
        select(t.product.c.id)
        .where(t.product.c.id.in_(in_orders))
        .order_by(t.product.c.id)
        .with_for_update()
    )


def _release(conn: Connection, order_ids: list[int], reservation: Reservation) -> None:
    """Give held stock of these orders back and mark their reservation `reservation`."""
    if not order_ids:
        return
    conn.execute(
        update(t.order)
        .where(t.order.c.id.in_(order_ids), t.order.c.reservation == Reservation.HELD)
        .values(reservation=reservation)
    )
    _restock(conn, order_ids)
    promos.release(conn, order_ids)


def _restock(conn: Connection, order_ids: list[int]) -> None:
    """Put the units of these orders back on stock."""
    lines = select(t.order_line.c.product_id).where(t.order_line.c.order_id.in_(order_ids))
    product_ids = [p for p in (conn.execute(lines)).scalars() if p is not None]
    _lock_products(conn, product_ids)
    returned = (
        select(func.sum(t.order_line.c.quantity))
        .where(t.order_line.c.order_id.in_(order_ids), t.order_line.c.product_id == t.product.c.id)
        .scalar_subquery()
    )
    conn.execute(
        update(t.product)
        .where(t.product.c.id.in_(product_ids))
        .values(stock=t.product.c.stock + returned)
    )
    bump_revision(conn, sorted(set(product_ids)))


def _count_sold(conn: Connection, order_id: int, sign: int) -> None:
    """Add (or take back) an order's units to the products' sales count, which ranks search."""
    _lock_order_products(conn, [order_id])
    conn.execute(
        update(t.product)
        .where(t.product.c.id == t.order_line.c.product_id, t.order_line.c.order_id == order_id)
        .values(sold=t.product.c.sold + sign * t.order_line.c.quantity)
    )


def _add_event(
    conn: Connection,
    order_id: int,
    status: OrderStatus,
    at: datetime,
    *,
    actor: str = "system",
    note: str | None = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
) -> None:
    """Append a step to the order's timeline."""
    conn.execute(
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
    )
