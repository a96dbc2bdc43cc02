"""Funnel events: an append-only record of what customers did, read by reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Table, case, delete, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.db import Database
from shop.persons import person_of
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
    EXPOSURE = "exposure"  # saw a variant of an A/B experiment (shop/experiments.py), once


_INSERT = t.analytics_event.insert()
ANY = "*"  # in funnel_reach: every channel, or every source (no source is "")
# A customer quiet this long who writes again begins a new visit (counted in the funnel's
# first step even without /start).
VISIT_GAP = timedelta(hours=12)


# The funnel's steps in order, and the events that reach each (design.md: `report funnel`).
STEPS: dict[str, tuple[EventKind, ...]] = {
    "visit": (EventKind.START, EventKind.VISIT),
    "view": (EventKind.VIEW,),
    "cart": (EventKind.ADD_TO_CART, EventKind.BUY_NOW),
    "checkout": (EventKind.CHECKOUT,),
    "paid": (EventKind.PAID,),
}
_STEP_OF = {kind.value: step for step, kinds in STEPS.items() for kind in kinds}


def counted_customer(events: Table) -> ColumnElement[Any]:
    """Return whom an analytics event counts for in reports: the customer's person (shop/persons.py).

    A person on two channels is one customer of the funnel; `_note_reach` keys it the
    same way for a new event, and `merge_reach` when two persons become one.
    """
    c = t.customer.alias("counted")
    person = select(func.coalesce(c.c.person_id, c.c.id)).where(c.c.id == events.c.customer_id)
    return person.correlate_except(c).scalar_subquery()


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
    step = _STEP_OF.get(kind.value)
    if step is not None and visit.customer_id is not None:
        _note_reach(conn, step, visit, at)


def _note_reach(conn: Connection, step: str, visit: Visit, at: datetime) -> None:
    """Move the person's time at `step` on to `at`, on their channel and source and on "any"."""
    channel, source = visit.channel or "", visit.source or ""
    column = f"{step}_at"
    person = person_of(conn, visit.customer_id) if visit.customer_id is not None else None
    rows = [
        {"channel": c, "source": s, "customer_id": person, column: at}
        for c, s in ((channel, source), (channel, ANY), (ANY, source), (ANY, ANY))
    ]
    conn.execute(_reach_upsert(conn.dialect.name, column), rows)


def merge_reach(conn: Connection, identities: Sequence[int]) -> None:
    """Carry what these identities reached over to their person, now that they are one."""
    r = t.funnel_reach
    person = person_of(conn, identities[0])
    others = [i for i in identities if i != person]
    moved = conn.execute(select(r).where(r.c.customer_id.in_(others))).all() if others else []
    for row in moved:
        for step in STEPS:
            at = getattr(row, f"{step}_at")
            if at is not None:
                where = {"channel": row.channel, "source": row.source, "customer_id": person}
                conn.execute(
                    _reach_upsert(conn.dialect.name, f"{step}_at"), {**where, f"{step}_at": at}
                )
    if moved:
        conn.execute(delete(r).where(r.c.customer_id.in_(others)))


@cache
def _reach_upsert(dialect: str, column: str) -> Any:
    """Return INSERT … ON CONFLICT DO UPDATE of one step's time, only ever forward; built once."""
    r = t.funnel_reach
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(r)
    kept = r.c[column]
    return insert.on_conflict_do_update(
        index_elements=["channel", "source", "customer_id"],
        set_={column: insert.excluded[column]},
        where=or_(kept.is_(None), kept < insert.excluded[column]),
    )


def rebuild_reach(conn: Connection) -> None:
    """Compute funnel_reach afresh from every analytics event (after a bulk load, or a merge)."""
    e, r = t.analytics_event, t.funnel_reach
    conn.execute(delete(r))
    who = counted_customer(e)
    steps = [
        func.max(case((e.c.kind.in_([k.value for k in kinds]), e.c.at))).label(f"{name}_at")
        for name, kinds in STEPS.items()
    ]
    channel, source = func.coalesce(e.c.channel, ""), func.coalesce(e.c.source, "")
    for by_channel in (True, False):
        for by_source in (True, False):
            keys = [
                channel if by_channel else literal(ANY),
                source if by_source else literal(ANY),
            ]
            grouped = [who, *(k for k, on in ((channel, by_channel), (source, by_source)) if on)]
            rows = (
                select(keys[0], keys[1], who, *steps)
                .where(who.is_not(None), e.c.kind.in_(list(_STEP_OF)))
                .group_by(*grouped)
            )
            names = ["channel", "source", "customer_id", *(f"{step}_at" for step in STEPS)]
            conn.execute(r.insert().from_select(names, rows))


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
