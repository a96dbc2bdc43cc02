"""The funnel: how many customers went from a visit to a paid order, overall, by channel and by source.

Steps, in order, and the events that reach them (shop/analytics.py):

    visit     start (/start, a scan, a greeting) or visit (any other first message)
    view      view (a product card opened)
    cart      add_to_cart, or buy_now ("Buy now" pressed)
    checkout  checkout (an order placed)
    paid      paid

A customer counts at a step when, within the period, they reached it and every
step before it: the funnel is closed, so each step holds no more customers than
the one before, and a customer whose visit fell before the period does not appear
from the middle. By channel and by source the same holds within the channel or
source: a journey begun on one channel and paid on another is a drop-off on each.
Events carry the source of the visit (a poster, a campaign, "broadcast-<id>"),
the paid ones the source the order was placed with; events of no source are the
source None. Money (paid orders, their average value, revenue per buyer) is in
minor units per currency; an order counts in the period it was paid in.

Everything is added up in SQL. Steps are counted from `funnel_reach`, which keeps,
beside each funnel event, when each customer last reached each step, per channel
and source and for "any" (shop/analytics.py): a step was reached in the period if
its last time is in it, so the report reads one row per customer and breakdown,
not every event (benchmarks/funnel.py: the events themselves took seconds for a
million on SQLite). Money is read from the paid and refunded events, a few of all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, func, literal, select, union_all
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.analytics import ANY, STEPS, EventKind, counted_customer
from shop.db import Database
from shop.models import Channel

_OVERALL, _CHANNEL, _SOURCE = "all", "channel", "source"
_CHANNELS = ["", *(channel.value for channel in Channel)]  # "": events of no channel


def per(amount: int, count: int) -> int:
    """Return `amount` / `count` in whole minor units, halves rounded up (0 for no count)."""
    return (2 * amount + count) // (2 * count) if count else 0


def share(part: int, whole: int) -> float | None:
    """Return `part` / `whole` to four places, or None when there is no whole."""
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True, slots=True)
class Funnel:
    """Customers at each step, in the order of `STEPS`."""

    customers: tuple[int, ...] = (0,) * len(STEPS)

    def steps(self) -> list[dict[str, Any]]:
        """Return each step with its customers, the share of the step before, and the drop-off."""
        rows: list[dict[str, Any]] = []
        before: int | None = None
        for name, count in zip(STEPS, self.customers, strict=True):
            rows.append(
                {
                    "step": name,
                    "customers": count,
                    "conversion": None if before is None else share(count, before),
                    "drop_off": None if before is None else before - count,
                }
            )
            before = count
        return rows


@dataclass(frozen=True, slots=True)
class Money:
    """Paid orders in one currency over the period."""

    currency: str
    orders: int
    buyers: int
    revenue: int  # the paid orders' totals
    refunded: int = 0  # refunds made in the period

    @property
    def average_order(self) -> int:
        """Return the average order value."""
        return per(self.revenue, self.orders)

    @property
    def per_buyer(self) -> int:
        """Return revenue per paying customer (their value over the period: LTV for --since all)."""
        return per(self.revenue, self.buyers)


@dataclass(frozen=True, slots=True)
class FunnelReport:
    """The funnel of a period, broken down, and what its buyers paid."""

    since: datetime | None
    channel: str | None
    source: str | None
    overall: Funnel
    by_channel: dict[str, Funnel]
    by_source: dict[str | None, Funnel]
    money: list[Money] = field(default_factory=list)
    buyers: int = 0  # distinct customers who paid, in any currency
    repeat_buyers: int = 0  # of them, those who paid for two orders or more

    @property
    def repeat_rate(self) -> float | None:
        """Return the share of buyers who bought again within the period."""
        return share(self.repeat_buyers, self.buyers)

    def to_json(self) -> dict[str, Any]:
        """Return the report as `chatshop report funnel --json` prints it."""
        return {
            "since": None if self.since is None else self.since.isoformat(),
            "channel": self.channel,
            "source": self.source,
            "steps": self.overall.steps(),
            "by_channel": [
                {"channel": name, "steps": funnel.steps()}
                for name, funnel in self.by_channel.items()
            ],
            "by_source": [
                {"source": name, "steps": funnel.steps()} for name, funnel in self.by_source.items()
            ],
            "orders": sum(m.orders for m in self.money),
            "buyers": self.buyers,
            "repeat_buyers": self.repeat_buyers,
            "repeat_rate": self.repeat_rate,
            "revenue": {m.currency: m.revenue for m in self.money},
            "refunded": {m.currency: m.refunded for m in self.money if m.refunded},
            "average_order": {m.currency: m.average_order for m in self.money},
            "revenue_per_buyer": {m.currency: m.per_buyer for m in self.money},
        }


class FunnelService:
    """Reads the funnel out of the analytics events."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def report(
        self,
        since: datetime | None = None,
        *,
        channel: str | None = None,
        source: str | None = None,
    ) -> FunnelReport:
        """Return the funnel since `since` (all time by default), of one channel or source if given."""

        def work(conn: Connection) -> FunnelReport:
            return funnel_report(conn, since, channel=channel, source=source)

        return await self._db.read(work, bulk=True)


def events_in(
    since: datetime | None, channel: str | None, source: str | None
) -> list[ColumnElement[bool]]:
    """Return the conditions on analytics events of the period, channel and source asked for."""
    e = t.analytics_event.c
    where: list[ColumnElement[bool]] = []
    if since is not None:
        where.append(e.at >= since)
    if channel is not None:
        where.append(e.channel == channel)
    if source is not None:
        where.append(e.source == source)
    return where


def funnel_report(
    conn: Connection,
    since: datetime | None,
    *,
    channel: str | None = None,
    source: str | None = None,
) -> FunnelReport:
    """Add the funnel up inside the caller's transaction (see `FunnelService.report`)."""
    overall = Funnel()
    by_channel: dict[str, Funnel] = {}
    by_source: dict[str | None, Funnel] = {}
    for part, row_channel, row_source, *counts in conn.execute(_steps(since, channel, source)):
        funnel = Funnel(tuple(int(n) for n in counts))
        if part == _OVERALL:
            overall = funnel
        elif part == _CHANNEL:
            by_channel[row_channel] = funnel
        else:
            by_source[row_source or None] = funnel
    money, buyers, repeat = _money(conn, events_in(since, channel, source))
    return FunnelReport(
        since=since,
        channel=channel,
        source=source,
        overall=overall,
        by_channel=dict(sorted(by_channel.items())),
        by_source=dict(
            sorted(
                by_source.items(),
                key=lambda item: (-item[1].customers[0], item[0] is None, item[0] or ""),
            )
        ),
        money=money,
        buyers=buyers,
        repeat_buyers=repeat,
    )


def _steps(since: datetime | None, channel: str | None, source: str | None) -> Any:
    """Return (part, channel, source, customers at each step) from funnel_reach.

    A row whose channel or source is "*" stands for every one: ("*", "*") is the
    whole funnel, (channel, "*") a channel's, ("*", source) a source's; a filter
    takes its own channel or source in place of "*". Each part reads ranges of the
    covering index `ix_funnel_reach_steps`, the first two from the period's first
    visit on.
    """
    r = t.funnel_reach
    reached = [
        r.c[f"{name}_at"].is_not(None) if since is None else r.c[f"{name}_at"] >= since
        for name in STEPS
    ]
    # Every row read has its visit in the period; each later step needs the ones before it too.
    counts = [func.count()]
    # Latest step first: most customers never reached it, and the test stops there.
    counts += [func.count(case((and_(*reached[n:0:-1]), 1))) for n in range(1, len(reached))]
    top_channel = r.c.channel == (channel or ANY)
    top_source = r.c.source == (ANY if source is None else source)
    # Each a range of the index, whatever statistics the planner has: every channel by name,
    # every source as those sorting before "*" (none, "") and after it.
    each_channel = r.c.channel.in_(_CHANNELS) if channel is None else r.c.channel == channel
    sources = [r.c.source < ANY, r.c.source > ANY] if source is None else [r.c.source == source]

    def part(name: str, *where: ColumnElement[bool]) -> Any:
        return (
            select(literal(name, String), r.c.channel, r.c.source, *counts)
            .where(*where, reached[0])
            .group_by(r.c.channel, r.c.source)
        )

    return union_all(
        part(_OVERALL, top_channel, top_source),
        part(_CHANNEL, each_channel, top_source),
        *(part(_SOURCE, top_channel, each) for each in sources),
    )


def _money(conn: Connection, where: Sequence[ColumnElement[bool]]) -> tuple[list[Money], int, int]:
    """Return paid orders per currency, the distinct buyers, and those who paid twice or more."""
    e = t.analytics_event
    who = counted_customer(e)
    kind = e.c.kind
    paid = kind == EventKind.PAID.value
    refunded = kind == EventKind.REFUNDED.value
    per_currency = (
        select(
            t.order.c.currency,
            func.count(func.distinct(case((paid, e.c.order_id)))),
            func.count(func.distinct(case((paid, who)))),
            func.coalesce(func.sum(case((paid, e.c.value))), 0),
            func.coalesce(func.sum(case((refunded, e.c.value))), 0),
        )
        .join(t.order, t.order.c.id == e.c.order_id)
        .where(kind.in_([EventKind.PAID.value, EventKind.REFUNDED.value]), *where)
        .group_by(t.order.c.currency)
        .order_by(t.order.c.currency)
    )
    money = [
        Money(currency, int(orders), int(buyers), int(revenue), int(back))
        for currency, orders, buyers, revenue, back in conn.execute(per_currency)
        if orders or back
    ]
    orders_each = (
        select(func.count(func.distinct(e.c.order_id)).label("orders"))
        .where(paid, *where)
        .group_by(who)
        .subquery()
    )
    buyers, repeat = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((orders_each.c.orders >= 2, 1), else_=0)), 0),
        ).select_from(orders_each)
    ).one()
    return money, int(buyers), int(repeat)
