"""`chatshop report funnel` over a million funnel events, beside a plain GROUP BY kind, on SQLite and PostgreSQL.

One run generates customers' journeys over 60 days (visits, product views, carts or
"Buy now", orders and payments, on Telegram and WhatsApp, from posters, campaigns,
broadcasts or nowhere) until they make `--events` funnel events, loads them into a
migrated shop on SQLite and on PostgreSQL (a database of its own, dropped after),
and times, on each, through the shop's own `Database`:

    baseline         SELECT kind, count(*) FROM analytics_event GROUP BY kind
    events           each customer's steps per channel and source, grouped from the events
    funnel 30d       FunnelService.report(since 30 days ago): the closed funnel overall,
                     by channel and by source, and the money (orders, AOV, repeat buyers)
    funnel all       the same over every event
    funnel source    one source's funnel over 30 days (--source)
    sales 30d        SalesService.report: by day, category and source

Each figure is the best of `--repeat` runs (the machine is shared). Run:

    python benchmarks/funnel.py [--events 1000000] [--repeat 3] [--skip-postgres]

Measured on the 2-core development machine, best of 3, 2026-12-07, nothing else
running, with a customer counted as their person across channels (shop/persons.py):

1,000,000 funnel events of 216,566 customers, 50,852 orders, over 60 days
                                                     SQLite 3.40   PostgreSQL 15
baseline: GROUP BY kind, all events                       157 ms          188 ms
events: GROUP BY customer, channel, source, 30d         1,782 ms        1,268 ms
funnel 30d (overall, channel, source, money)              567 ms          456 ms
funnel all (twice the customers of 30d)                   888 ms          881 ms
funnel 30d, --source poster-1                              81 ms           88 ms
sales 30d                                                 217 ms          152 ms

"events" is what the report first did: each customer's steps per channel and
source grouped straight from the period's events (seconds on SQLite, before the
three breakdowns). The report now reads `funnel_reach`, which every funnel event
keeps up to date by person (shop/analytics.py), one index range per part, and the
money from the paid events' covering index, looking up each paid event's person
(before persons, on a machine with other sessions at a load average of 1-1.5, the
funnel took 395 and 277 ms for 30 days, 762 and 411 ms for all time). All time reads
every customer's rows, twice the 30 days' here. Loading the events is not timed;
computing funnel_reach from them afresh (`rebuild_reach`, as after a bulk load) took
36 s on SQLite and 39 s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_shop
from bot.settings import Settings
from shop import tables as t
from shop.analytics import STEPS, rebuild_reach
from shop.db import Database
from shop.funnel import FunnelService
from shop.migrate import upgrade
from shop.sales import SalesService

POSTGRES = os.environ.get(
    "CHATSHOP_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
DAYS = 60
SOURCES = (
    [None] * 11
    + [f"poster-{n}" for n in range(1, 7)]
    + ["campaign-autumn"]
    + [f"broadcast-{n}" for n in range(1, 3)]
)
EVENT_COLUMNS = (
    "at",
    "kind",
    "customer_id",
    "channel",
    "source",
    "product_id",
    "order_id",
    "value",
    "data",
)
CUSTOMER_COLUMNS = (
    "id",
    "channel",
    "external_id",
    "display_name",
    "marketing_consent",
    "first_seen_at",
)
ORDER_COLUMNS = (
    "id", "customer_id", "status", "currency", "subtotal", "discount", "delivery_price", "total",
    "delivery_method", "digital", "reservation", "reserved_until", "channel", "source",
    "created_at", "updated_at",
)  # fmt: skip


class Journeys:
    """Generated customers, their orders and their funnel events, as rows to load."""

    def __init__(self, events: int, seed: int) -> None:
        rng = random.Random(seed)
        self.customers: list[tuple[Any, ...]] = []
        self.orders: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        while len(self.events) < events:
            self._customer(rng)
        del self.events[events:]

    def _customer(self, rng: random.Random) -> None:
        cid = len(self.customers) + 1
        channel = "telegram" if rng.random() < 0.65 else "whatsapp"
        source = rng.choice(SOURCES)
        at = NOW - timedelta(days=DAYS) + timedelta(seconds=rng.uniform(0, DAYS * 86_400 - 7_200))
        self.customers.append((cid, channel, f"bench-{cid}", "", False, at))

        def event(kind: str, **values: Any) -> None:
            nonlocal at
            at += timedelta(seconds=rng.uniform(5, 120))
            row = (at, kind, cid, channel, source, values.get("product"), values.get("order"),
                   values.get("value"), "{}")  # fmt: skip
            self.events.append(row)

        for visit in range(1 + int(rng.expovariate(1 / 0.6))):
            event("start" if visit == 0 or rng.random() < 0.5 else "visit")
            if rng.random() < 0.7:
                for _ in range(rng.randint(1, 5)):
                    event("view", product=rng.randint(1, 500))
                if rng.random() < 0.45:
                    event("buy_now" if rng.random() < 0.2 else "add_to_cart")
                    if rng.random() < 0.6:
                        self._order(rng, cid, channel, source, at, event)

    def _order(
        self,
        rng: random.Random,
        cid: int,
        channel: str,
        source: str | None,
        at: datetime,
        event: Callable[..., None],
    ) -> None:
        oid = len(self.orders) + 1
        total = rng.randint(5, 200) * 100
        paid = rng.random() < 0.7
        self.orders.append((oid, cid, "paid" if paid else "pending_payment", "USD", total, 0, 0,
                            total, "none", False, "committed" if paid else "held", at, channel,
                            source, at, at))  # fmt: skip
        event("checkout", order=oid, value=total)
        if paid:
            event("paid", order=oid, value=total)


def load_sqlite(path: Path, data: Journeys) -> None:
    """Write the rows straight into the migrated SQLite file (not timed)."""
    conn = sqlite3.connect(path)

    def rows(table: str, columns: tuple[str, ...], values: list[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" for _ in columns)
        stored = [tuple(_sqlite(v) for v in row) for row in values]
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", stored)

    rows("customer", CUSTOMER_COLUMNS, data.customers)
    rows("shop_order", ORDER_COLUMNS, data.orders)
    rows("analytics_event", EVENT_COLUMNS, data.events)
    conn.commit()
    conn.close()


def _sqlite(value: Any) -> Any:
    """Store a time as the shop does on SQLite: naive UTC text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return value


async def load_postgres(url: str, data: Journeys) -> None:
    """COPY the rows into the migrated PostgreSQL database (not timed)."""
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        raw: Any = (await conn.get_raw_connection()).driver_connection
        for table, columns, rows in (
            ("customer", CUSTOMER_COLUMNS, data.customers),
            ("shop_order", ORDER_COLUMNS, data.orders),
            ("analytics_event", EVENT_COLUMNS, data.events),
        ):
            await raw.copy_records_to_table(table, records=rows, columns=columns)
    await engine.dispose()


async def best(repeat: int, work: Callable[[], Awaitable[object]]) -> float:
    """Return the fastest of `repeat` runs of `work`, in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


async def measure(label: str, db: Database, args: argparse.Namespace) -> None:
    """Fill funnel_reach from the events, then print the baseline and each report's time."""
    started = time.perf_counter()
    await db.write(rebuild_reach)
    await db.write(lambda conn: conn.execute(text("ANALYZE")))
    print(
        f"{label}: funnel_reach computed from the events in {time.perf_counter() - started:.1f} s"
    )
    e = t.analytics_event
    by_kind = select(e.c.kind, func.count()).group_by(e.c.kind)
    funnel, sales = FunnelService(db), SalesService(db)
    since = NOW - timedelta(days=30)
    kinds = [kind.value for kinds in STEPS.values() for kind in kinds]
    flags = [
        func.max(case((e.c.kind.in_([k.value for k in step]), 1), else_=0))
        for step in STEPS.values()
    ]
    # What the report would cost read from the events: each customer's steps per channel and
    # source, one GROUP BY over the period's events (and the three breakdowns still to come).
    per_customer = (
        select(e.c.customer_id, e.c.channel, e.c.source, *flags)
        .where(e.c.at >= since, e.c.kind.in_(kinds))
        .group_by(e.c.customer_id, e.c.channel, e.c.source)
    )

    async def baseline() -> object:
        return await db.read(lambda conn: conn.execute(by_kind).all(), bulk=True)

    async def from_events() -> object:
        return await db.read(lambda conn: conn.execute(per_customer).all(), bulk=True)

    report = await funnel.report(since)
    print(f"{label}: 30 days' funnel {' → '.join(f'{n:,}' for n in report.overall.customers)}")
    cases: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("baseline: GROUP BY kind, all events", baseline),
        ("events: GROUP BY customer, channel, source, 30d", from_events),
        ("funnel 30d (overall, channel, source, money)", lambda: funnel.report(since)),
        ("funnel all", lambda: funnel.report(None)),
        (f"funnel 30d, --source {args.source}", lambda: funnel.report(since, source=args.source)),
        ("sales 30d", lambda: sales.report(since)),
    ]
    for name, work in cases:
        print(f"  {name:<48}{await best(args.repeat, work):>9,.0f} ms", flush=True)


async def on_sqlite(data: Journeys, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "shop.db"
        shop = build_shop(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
        await upgrade(shop.db)
        await shop.db.dispose()
        started = time.perf_counter()
        load_sqlite(path, data)
        print(f"\nSQLite loaded in {time.perf_counter() - started:.1f} s", flush=True)
        shop = build_shop(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
        await measure(f"SQLite {sqlite3.sqlite_version}", shop.db, args)
        await shop.db.dispose()


async def on_postgres(data: Journeys, args: argparse.Namespace) -> None:
    name = f"chatshop_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    try:
        shop = build_shop(Settings(database_url=url))
        await upgrade(shop.db)
        started = time.perf_counter()
        await load_postgres(url, data)
        print(f"\nPostgreSQL loaded in {time.perf_counter() - started:.1f} s", flush=True)
        version = await shop.db.read(
            lambda conn: conn.execute(text("SHOW server_version")).scalar()
        )
        await measure(f"PostgreSQL {version}", shop.db, args)
        await shop.db.dispose()
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    data = Journeys(args.events, args.seed)
    print(f"{len(data.events):,} funnel events of {len(data.customers):,} customers, "
          f"{len(data.orders):,} orders, over {DAYS} days: generated in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    await on_sqlite(data, args)
    if not args.skip_postgres:
        await on_postgres(data, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="keep the best of this many runs")
    parser.add_argument("--source", default="poster-1", help="the source of the one-source case")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--skip-postgres", action="store_true")
    asyncio.run(main(parser.parse_args()))
