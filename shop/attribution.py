"""Attribution: which poster brought whom, from the scan to the paid order.

A conversation that starts from a code decodes it with `AttributionService.decode`;
the start flow (bot/flows/start.py) records the code's source on the customer as
their first touch (a later scan never overwrites it), writes the funnel's
``start`` and ``source`` events, and keeps the source for the visit, which every
later event carries, so carts, checkouts and payments are credited to the poster
too. `AttributionService.report` adds those events up per source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.analytics import EventKind
from shop.catalog import load_product_by_sku
from shop.db import Database
from shop.deeplink import (
    UNKNOWN,
    Scan,
    ShortCode,
    Target,
    TargetKind,
    inline,
    make_scan,
    parse,
    short_code,
)
from shop.errors import NotFoundError, ProductUnavailableError, PromoProblem, PromoRejectedError
from shop.models import Category, PromoCode
from shop.sql import insert_for
from shop.types import utcnow
from shop.views import ProductView

_ATTEMPTS = 16  # codes tried per scan before giving up (each collision has odds of 1 in 2e14)


@dataclass(frozen=True, slots=True)
class Destination:
    """What a target opens, as it is in the shop now; `target` is its canonical form."""

    target: Target
    product: ProductView | None = None
    category: Category | None = None
    promo: PromoCode | None = None


@dataclass(frozen=True, slots=True)
class SourceFigures:
    """The funnel of one source over a period.

    Attributes:
        source: the name printed into the codes.
        scans: conversations opened from its codes.
        customers: distinct customers with any event of a visit from it.
        carts: of them, those who put something in the cart.
        orders: orders paid.
        buyers: distinct customers who paid.
        revenue: minor units per currency, paid less refunded (currencies netting 0 left out).
    """

    source: str
    scans: int = 0
    customers: int = 0
    carts: int = 0
    orders: int = 0
    buyers: int = 0
    revenue: dict[str, int] = field(default_factory=dict)

    @property
    def conversion(self) -> float:
        """Return the share of customers who paid (0 to 1)."""
        return self.buyers / self.customers if self.customers else 0.0


def register_code(conn: Connection, scan: Scan, now: datetime) -> str:
    """Return the registered payload for a checked scan, creating its row the first time.

    A function of the database alone: running it again returns the same code.
    """
    wanted = (scan.target.kind.value, scan.target.value, scan.source)
    for attempt in range(_ATTEMPTS):
        code = short_code(scan, attempt)
        conn.execute(
            insert_for(conn, t.qr_code)
            .values(
                code=code,
                kind=wanted[0],
                value=wanted[1],
                source=wanted[2],
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["code"])
        )
        row = conn.execute(
            select(t.qr_code.c.kind, t.qr_code.c.value, t.qr_code.c.source).where(
                t.qr_code.c.code == code
            )
        ).one()
        if tuple(row) == wanted:
            return code
    raise RuntimeError(f"no free short code for {scan}")  # pragma: no cover (odds 1e-200)


def resolve_code(conn: Connection, text: str | None) -> Scan:
    """Decode a payload or a message holding one, looking registered codes up; never raises."""
    found = parse(text)
    if isinstance(found, Scan):
        return found
    return _lookup(conn, found)


def _lookup(conn: Connection, short: ShortCode) -> Scan:
    """Return what a registered code stands for, or UNKNOWN."""
    row = conn.execute(
        select(t.qr_code.c.kind, t.qr_code.c.value, t.qr_code.c.source).where(
            t.qr_code.c.code == short.code
        )
    ).first()
    if row is None:
        return Scan(UNKNOWN)
    try:
        kind = TargetKind(row.kind)
    except ValueError:  # a row written by a newer version that knows more kinds
        return Scan(UNKNOWN)
    return Scan(Target(kind, row.value), row.source)


class AttributionService:
    """Makes payloads, opens conversations from them, and reports what each source brought."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def code_for(self, target: Target, source: str | None) -> str:
        """Return the payload for `target` from `source`: inline, or registered when too long.

        Raises:
            PayloadError: no code can carry this target or source.
        """
        scan = make_scan(target, source)
        code = inline(scan)
        if code is not None:
            return code
        now = self._clock()
        return await self._db.write(lambda conn: register_code(conn, scan, now))

    async def decode(self, text: str | None) -> Scan:
        """Return what a payload (or a message holding one) says; UNKNOWN when nothing valid."""
        return await self._db.read(lambda conn: resolve_code(conn, text))

    async def destination(self, target: Target) -> Destination:
        """Return what `target` opens now; a category may be named in any of its languages.

        Raises:
            NotFoundError: no such product, category or promo code.
            ProductUnavailableError: the product is no longer sold.
            PromoRejectedError: the promo code is switched off or has ended.
        """
        now = self._clock()
        kind = target.kind
        if kind is TargetKind.PRODUCT:
            product = await self._db.read(lambda conn: load_product_by_sku(conn, target.value))
            if product is None:
                raise NotFoundError("product", target.value)
            if not product.active:
                raise ProductUnavailableError(product.sku, "no longer sold")
            return Destination(target, product=product)
        if kind is TargetKind.CATEGORY:
            category = await self._db.read(lambda conn: _category(conn, target.value))
            if category is None:
                raise NotFoundError("category", target.value)
            return Destination(Target.category(category.name), category=category)
        if kind is TargetKind.PROMO:
            promo = await self._db.read(lambda conn: _promo(conn, target.value))
            if promo is None:
                raise NotFoundError("promo code", target.value)
            if not promo.active:
                raise PromoRejectedError(promo.code, PromoProblem.UNKNOWN)
            if promo.ends_at is not None and promo.ends_at <= now:
                raise PromoRejectedError(promo.code, PromoProblem.EXPIRED)
            return Destination(target, promo=promo)
        if kind is TargetKind.SHOP:
            return Destination(target)
        raise NotFoundError("target", target.value)

    async def report(self, since: datetime | None = None) -> list[SourceFigures]:
        """Add up the funnel per source since `since` (all time by default), most scanned first."""

        def work(conn: Connection) -> list[SourceFigures]:
            return _report(conn, since)

        return await self._db.read(work, bulk=True)


def _category(conn: Connection, name: str) -> Category | None:
    """Find a category by its base name, else by any of its names ignoring case."""
    rows = conn.execute(select(t.category).order_by(t.category.c.position, t.category.c.id))
    categories = [Category(**row._mapping) for row in rows]
    for category in categories:
        if category.name == name:
            return category
    folded = name.casefold()
    for category in categories:
        names = [category.name, *category.name_i18n.values()]
        if any(candidate.casefold() == folded for candidate in names):
            return category
    return None


def _promo(conn: Connection, code: str) -> PromoCode | None:
    row = conn.execute(select(t.promo_code).where(t.promo_code.c.code == code)).first()
    return PromoCode(**row._mapping) if row else None


def _report(conn: Connection, since: datetime | None) -> list[SourceFigures]:
    """Count each source's events, then add its revenue per currency."""
    e = t.analytics_event
    kind = e.c.kind

    def when(what: EventKind, column: Any) -> Any:
        return case((kind == what.value, column))

    counts = select(
        e.c.source,
        func.count(when(EventKind.SOURCE, e.c.id)),
        func.count(func.distinct(e.c.customer_id)),
        func.count(func.distinct(when(EventKind.ADD_TO_CART, e.c.customer_id))),
        func.count(func.distinct(when(EventKind.PAID, e.c.order_id))),
        func.count(func.distinct(when(EventKind.PAID, e.c.customer_id))),
    ).where(e.c.source.is_not(None))
    money = (
        select(
            e.c.source,
            t.order.c.currency,
            func.sum(case((kind == EventKind.REFUNDED.value, -e.c.value), else_=e.c.value)),
        )
        .join(t.order, t.order.c.id == e.c.order_id)
        .where(
            e.c.source.is_not(None),
            kind.in_([EventKind.PAID.value, EventKind.REFUNDED.value]),
        )
    )
    if since is not None:
        counts = counts.where(e.c.at >= since)
        money = money.where(e.c.at >= since)
    revenue: dict[str, dict[str, int]] = {}
    for source, currency, amount in conn.execute(money.group_by(e.c.source, t.order.c.currency)):
        if amount:  # a currency whose payments were all refunded adds nothing
            revenue.setdefault(source, {})[currency] = int(amount)
    figures = [
        SourceFigures(
            source=source,
            scans=int(scans),
            customers=int(customers),
            carts=int(carts),
            orders=int(orders),
            buyers=int(buyers),
            revenue=revenue.get(source, {}),
        )
        for source, scans, customers, carts, orders, buyers in conn.execute(
            counts.group_by(e.c.source)
        )
    ]
    figures.sort(key=lambda f: (-f.scans, f.source))
    return figures
