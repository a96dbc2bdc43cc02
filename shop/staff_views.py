"""What staff read about orders: each with its customer, timeline, lines and payments.

A few queries for any number of orders (one per table), never one per order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from shop import persons
from shop import tables as t
from shop.db import Database
from shop.errors import NotFoundError
from shop.models import OrderEvent, OrderLine, OrderStatus, OutboundMessage, Payment
from shop.views import CustomerView, OrderView, PersonView

M = TypeVar("M", bound=SQLModel)


@dataclass(frozen=True, slots=True)
class StaffOrder:
    """An order as staff see it; `lines` and `payments` only where asked for (one order).

    `customer` is the identity that placed it (its channel's address); `person` who that is
    on every channel, named alike whichever channel the order came from.
    """

    order: OrderView
    customer: CustomerView
    person: PersonView
    timeline: list[OrderEvent]
    lines: list[OrderLine]
    payments: list[Payment]
    messages: list[OutboundMessage] = field(default_factory=list)  # what the customer was told


async def recent_orders(
    db: Database, *, status: OrderStatus | None = None, limit: int = 50
) -> list[StaffOrder]:
    """Return the newest orders (in one status, if given) with their customers and timelines."""
    query = select(t.order).order_by(t.order.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(t.order.c.status == status.value)
    return await db.read(lambda conn: _load(conn, query, details=False))


async def order_in_full(db: Database, order_id: int) -> StaffOrder:
    """Return one order with its customer, timeline, lines and payments.

    Raises:
        NotFoundError: no such order.
    """
    query = select(t.order).where(t.order.c.id == order_id)
    found = await db.read(lambda conn: _load(conn, query, details=True))
    if not found:
        raise NotFoundError("order", order_id)
    return found[0]


def _load(conn: Connection, query: Select[Any], *, details: bool) -> list[StaffOrder]:
    """Read the orders `query` selects and what belongs to them, in the query's order."""
    orders = [OrderView.from_row(row) for row in conn.execute(query)]
    ids = [order.id for order in orders]
    customer_ids = {order.customer_id for order in orders}
    people = persons.people(conn, customer_ids)
    person_of = {c.id: person for person in people.values() for c in person.identities}
    customers = {c.id: c for person in people.values() for c in person.identities}
    events = _by_order(
        conn,
        select(t.order_event)
        .where(t.order_event.c.order_id.in_(ids))
        .order_by(t.order_event.c.at, t.order_event.c.id),
        OrderEvent,
    )
    lines: dict[int, list[OrderLine]] = {}
    payments: dict[int, list[Payment]] = {}
    messages: dict[int, list[OutboundMessage]] = defaultdict(list)
    if details:
        o = t.outbound_message.c
        told = (
            select(t.outbound_message)
            .where(o.customer_id.in_(customer_ids), o.payload["order_id"].as_integer().in_(ids))
            .order_by(o.id)
        )
        for message in conn.execute(told):
            messages[message.payload["order_id"]].append(OutboundMessage(**message._mapping))
        lines = _by_order(
            conn,
            select(t.order_line)
            .where(t.order_line.c.order_id.in_(ids))
            .order_by(t.order_line.c.id),
            OrderLine,
        )
        payments = _by_order(
            conn,
            select(t.payment).where(t.payment.c.order_id.in_(ids)).order_by(t.payment.c.id),
            Payment,
        )
    return [
        StaffOrder(
            order,
            customers[order.customer_id],
            person_of[order.customer_id],
            events.get(order.id, []),
            lines.get(order.id, []),
            payments.get(order.id, []),
            messages.get(order.id, []),
        )
        for order in orders
    ]


def _by_order(conn: Connection, query: Select[Any], model: type[M]) -> dict[int, list[M]]:
    """Run `query` and group its rows, as `model` records, by their order id."""
    grouped: dict[int, list[M]] = defaultdict(list)
    for row in conn.execute(query):
        grouped[row.order_id].append(model(**row._mapping))
    return grouped
