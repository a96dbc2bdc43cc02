"""Funnel events: an append-only record of what customers did, read by reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.db import Database
from shop.types import utcnow


class EventKind(StrEnum):
    """The steps of the funnel."""

    START = "start"  # /start, a scan or a greeting: a visit
    VISIT = "visit"  # a conversation begun without /start: a first message, or one after a while
    SOURCE = "source"
    VIEW = "view"
    SEARCH = "search"
    ADD_TO_CART = "add_to_cart"
    BUY_NOW = "buy_now"  # "Buy now" pressed: the cart step, skipping the cart
    REMOVE_FROM_CART = "remove_from_cart"
    CHECKOUT = "checkout"
    INVOICE = "invoice"
    PAID = "paid"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"


_INSERT = t.analytics_event.insert()
# A customer quiet this long who writes again begins a new visit (counted in the funnel's
# first step even without /start).
VISIT_GAP = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class Visit:
    """Who is acting, on which channel, and what brought them this time."""

    customer_id: int | None
    channel: str | None
    source: str | None = None


def append_event(
    conn: Connection,
    kind: EventKind,
    visit: Visit,
    at: datetime,
    *,
    product_id: int | None = None,
    order_id: int | None = None,
    value: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Write one funnel event inside the caller's transaction."""
    conn.execute(
        _INSERT,
        {
            "at": at,
            "kind": kind.value,
            "customer_id": visit.customer_id,
            "channel": visit.channel,
            "source": visit.source,
            "product_id": product_id,
            "order_id": order_id,
            "value": value,
            "data": data or {},
        },
    )


class AnalyticsService:
    """Records funnel events and counts them."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def record(
        self,
        kind: EventKind,
        visit: Visit,
        *,
        product_id: int | None = None,
        order_id: int | None = None,
        value: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> datetime:
        """Append one funnel event now; return its time."""
        now = self._clock()

        def work(conn: Connection) -> None:
            append_event(
                conn,
                kind,
                visit,
                now,
                product_id=product_id,
                order_id=order_id,
                value=value,
                data=data,
            )

        await self._db.write(work)
        return now

    async def visit(self, visit: Visit, last: datetime | None) -> datetime | None:
        """Record a visit unless the last one (`last`) began under `VISIT_GAP` ago; return its time."""
        if last is not None and self._clock() - last < VISIT_GAP:
            return None
        return await self.record(EventKind.VISIT, visit)

    async def counts(self, since: datetime | None = None) -> dict[str, int]:
        """Return how many events of each kind happened since `since` (all time by default)."""
        query = select(t.analytics_event.c.kind, func.count()).group_by(t.analytics_event.c.kind)
        if since is not None:
            query = query.where(t.analytics_event.c.at >= since)

        def work(conn: Connection) -> dict[str, int]:
            return {kind: int(n) for kind, n in conn.execute(query)}

        return await self._db.read(work, bulk=True)
