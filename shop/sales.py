"""Sales: revenue, orders and average order value by day, by category and by source.

An order counts on the day (UTC) it was paid, credited to the source it was placed
with (None: no poster or campaign). By category, an order counts once for each
category it holds, with the value of those lines at their prices (before the
order's discount and delivery), so categories add up to the goods sold, not to
the totals paid. Money is in minor units, one row per currency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.analytics import EventKind
from shop.db import Database
from shop.funnel import events_in, per


@dataclass(frozen=True, slots=True)
class SalesRow:
    """Paid orders of one day, category or source, in one currency."""

    key: str | None
    currency: str
    orders: int
    revenue: int

    @property
    def average_order(self) -> int:
        """Return the average order value."""
        return per(self.revenue, self.orders)

    def to_json(self, name: str) -> dict[str, Any]:
        """Return the row for JSON, its key under `name`."""
        return {
            name: self.key,
            "currency": self.currency,
            "orders": self.orders,
            "revenue": self.revenue,
            "average_order": self.average_order,
        }


@dataclass(frozen=True, slots=True)
class SalesReport:
    """A period's sales, in total and broken down."""

    since: datetime | None
    total: list[SalesRow] = field(default_factory=list)
    by_day: list[SalesRow] = field(default_factory=list)
    by_category: list[SalesRow] = field(default_factory=list)
    by_source: list[SalesRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the report as `chatshop report sales --json` prints it."""
        return {
            "since": None if self.since is None else self.since.isoformat(),
            "total": [row.to_json("currency") for row in self.total],
            "by_day": [row.to_json("day") for row in self.by_day],
            "by_category": [row.to_json("category") for row in self.by_category],
            "by_source": [row.to_json("source") for row in self.by_source],
        }


class SalesService:
    """Reads sales out of the paid orders' events."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def report(self, since: datetime | None = None) -> SalesReport:
        """Return sales since `since` (all time by default)."""
        return await self._db.read(lambda conn: sales_report(conn, since), bulk=True)


def sales_report(conn: Connection, since: datetime | None) -> SalesReport:
    """Add sales up inside the caller's transaction (see `SalesService.report`)."""
    e = t.analytics_event
    where = [e.c.kind == EventKind.PAID.value, *events_in(since, None, None)]
    day = _utc_day(conn, e.c.at)
    total = _rows(conn, None, where)
    by_day = [
        SalesRow(str(row.key), row.currency, row.orders, row.revenue)
        for row in _rows(conn, day, where)
    ]
    by_source = sorted(_rows(conn, e.c.source, where), key=lambda r: (-r.revenue, r.key or ""))
    return SalesReport(since, total, by_day, _categories(conn, where), by_source)


def _rows(
    conn: Connection, key: ColumnElement[Any] | None, where: Sequence[ColumnElement[bool]]
) -> list[SalesRow]:
    """Return paid orders and their totals per `key` and currency (per currency alone without a key)."""
    e = t.analytics_event
    keys = [t.order.c.currency] if key is None else [key, t.order.c.currency]
    statement = (
        select(*keys, func.count(func.distinct(e.c.order_id)), func.sum(e.c.value))
        .join(t.order, t.order.c.id == e.c.order_id)
        .where(*where)
        .group_by(*keys)
        .order_by(*keys)
    )
    rows = []
    for row in conn.execute(statement):
        *named, currency, orders, amount = tuple(row)
        rows.append(SalesRow(named[0] if named else currency, currency, int(orders), int(amount)))
    return rows


def _categories(conn: Connection, where: Sequence[ColumnElement[bool]]) -> list[SalesRow]:
    """Return per category and currency: the orders holding it and the value of its lines."""
    e, line = t.analytics_event, t.order_line
    statement = (
        select(
            t.category.c.name,
            t.order.c.currency,
            func.count(func.distinct(e.c.order_id)),
            func.sum(line.c.unit_price * line.c.quantity),
        )
        .join(t.order, t.order.c.id == e.c.order_id)
        .join(line, line.c.order_id == e.c.order_id)
        .outerjoin(t.product, t.product.c.id == line.c.product_id)
        .outerjoin(t.category, t.category.c.id == t.product.c.category_id)
        .where(*where)
        .group_by(t.category.c.name, t.order.c.currency)
    )
    rows = [
        SalesRow(name, currency, int(n), int(amount))
        for name, currency, n, amount in conn.execute(statement)
    ]
    return sorted(rows, key=lambda r: (-r.revenue, r.key or ""))


def _utc_day(conn: Connection, at: ColumnElement[Any]) -> ColumnElement[Any]:
    """Return the UTC date of a stored time (SQLite keeps UTC text; PostgreSQL a timestamptz)."""
    if conn.dialect.name == "postgresql":
        return func.date(func.timezone("UTC", at))
    return func.date(at)
