"""Often bought together: the products bought with a product (or a cart), from paid orders.

Counts are kept apart from the orders, in `together_pair`: for two products, how
many paid orders held both (a person buying on two channels counts once per
order, as anyone does). A refunded order no longer counts: its refund takes its
pairs back out. Cancelled orders were never paid, so never count. The counts are
folded in by a background job (`fold`, run by `chatshop run` and `chatshop worker`)
from the orders' timeline: the paid and refunded steps past a watermark, so paying
and refunding write nothing more, and a customer's reply never waits for it.

Exactly once, with any number of folders: each fold transaction holds the one
`together_fold` row (on PostgreSQL FOR UPDATE SKIP LOCKED: a second folder finds it
taken and leaves the work to the first; SQLite has one writer) and moves the
watermark in the same transaction as the counts. On PostgreSQL a step's id is handed
out before its transaction commits, so a step may appear below ids already seen.
A fold therefore first fixes a horizon, the newest step id, and notes the
transactions then writing steps (`pg_locks`); it counts up to the horizon only once
those have ended: at once when none were writing, else at the next run.

After counting, a fold chooses again the best sellers (most `product.sold`) of each
category whose orders it counted, BEST_KEPT deep, into `together_best_seller`:
ordering a whole shelf by sales at each card would cost a big category's every row.

Reading a card's suggestions is one query: the product's partners, most orders
first, straight from `ix_together_pair_ranked`, topped up with its category's best
sellers when history offers fewer. Only products on sale and in stock are offered.
Ties go to the product added later (the higher id).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from sqlalchemy import (
    BindParameter,
    Select,
    and_,
    bindparam,
    func,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.db import Database
from shop.models import OrderStatus
from shop.sql import insert_for
from shop.views import ProductView

SHOWN = 3  # suggestions on a card or a cart
BEST_KEPT = 10  # best sellers kept per category: enough for some to be sold out or in the cart
BATCH = 200  # order steps folded in one transaction: short, as SQLite has one writer

_WEIGHT = {OrderStatus.PAID.value: 1, OrderStatus.REFUNDED.value: -1}
# Transactions of others holding order_event open for writing (each until it ends).
_WRITERS = text(
    "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'relation' "
    "AND relation = 'order_event'::regclass AND mode = 'RowExclusiveLock' "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND pid <> pg_backend_pid()"
)

p = t.product.c
tp = t.together_pair.c
best = t.together_best_seller.c
fold_c = t.together_fold.c
e = t.order_event.c


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A product to offer, and whether it was bought together with the one shown (else a best seller)."""

    product: ProductView
    together: bool


class TogetherService:
    """Suggests products bought together, and keeps the counts it reads up to date."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def suggest(
        self, product_ids: Sequence[int], exclude: Collection[int] = (), limit: int = SHOWN
    ) -> list[Suggestion]:
        """Return up to `limit` products on sale often bought with `product_ids`, best first.

        Products in `exclude` are never offered (the card's own product, what the cart
        holds). Too few from history are topped up with the best sellers of the
        categories of `product_ids`.
        """
        if not product_ids:
            return []
        work = partial(_suggest, ids=list(product_ids), exclude=list(exclude), limit=limit)
        return await self._db.read(work)

    async def fold(self) -> None:
        """Count the orders paid or refunded since the last fold into the pairs (background work).

        Then choose again the best sellers of the categories those orders bought from.
        """
        sold: set[int] = set()
        while True:
            more, batch = await self._db.write(_fold_batch, bulk=True)
            sold |= batch
            if not more:
                break
        if sold:
            shelves = await self._db.read(partial(_shelves, products=sorted(sold)))
            for shelf in shelves:
                await self._choose_best_sellers(shelf)

    async def _choose_best_sellers(self, shelf: int) -> None:
        """Keep the BEST_KEPT products of a category that sold most (read apart from the write).

        Ordering a big category by sales takes a while: on SQLite, a write transaction
        that long would keep customers' carts and orders waiting for it.
        """
        top = (
            select(p.id)
            .where(p.category_id == shelf, p.active, p.sold > 0)
            .order_by(p.sold.desc(), p.id.desc())
            .limit(BEST_KEPT)
        )
        chosen = await self._db.read(lambda conn: list(conn.execute(top).scalars()), bulk=True)
        await self._db.write(partial(_keep_best_sellers, shelf=shelf, chosen=chosen))

    async def rebuild(self) -> int:
        """Count every paid order again from scratch; return how many pairs of products it found.

        Until it is done, cards offer what it has counted so far (and best sellers).
        """
        await self._db.write(_forget, bulk=True)
        await self.fold()
        kept = select(func.count()).select_from(t.together_pair)
        return (
            int(await self._db.read(lambda conn: conn.execute(kept).scalar_one(), bulk=True)) // 2
        )


def _suggest(conn: Connection, ids: list[int], exclude: list[int], limit: int) -> list[Suggestion]:
    """Read the suggestions in one statement: the pairs first, then the best sellers."""
    values = {"product": ids[0], "ids": ids, "exclude": exclude}
    rows = conn.execute(_suggestions(len(ids) > 1, limit), values)
    # ProductView's fields follow the product table's columns (as shop/carts.py reads them).
    return [Suggestion(ProductView(*row[:_PRODUCT_COLUMNS]), row.tier == 0) for row in rows]


_PRODUCT_COLUMNS = len(t.product.c)


@cache
def _suggestions(several: bool, limit: int) -> Select[Any]:
    """Build, once, the statement that reads suggestions for one product or for several.

    Only the products finally offered are read whole (their JSON columns cost most).
    """
    exclude: BindParameter[list[int]] = bindparam("exclude", expanding=True)
    on_sale = and_(p.active, p.stock > 0, p.id.not_in(exclude))
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    if not several:  # read in the index's order, stopping at `limit`
        together = (
            select(tp.other_id.label("id"), tp.orders.label("score"), literal(0).label("tier"))
            .join_from(t.together_pair, t.product, p.id == tp.other_id)
            .where(tp.product_id == bindparam("product"), tp.orders > 0, on_sale)
            .order_by(tp.orders.desc(), tp.other_id.desc())
            .limit(limit)
            .cte("together")
        )
    else:
        score = func.sum(tp.orders)
        partners = (
            select(tp.other_id, score.label("score"))
            .where(tp.product_id.in_(ids))
            .group_by(tp.other_id)
            .having(score > 0)
            .subquery()
        )
        together = (
            select(partners.c.other_id.label("id"), partners.c.score, literal(0).label("tier"))
            .join_from(partners, t.product, p.id == partners.c.other_id)
            .where(on_sale)
            .order_by(partners.c.score.desc(), partners.c.other_id.desc())
            .limit(limit)
            .cte("together")
        )
    shelves = select(t.product.c.category_id).where(p.id.in_(ids)).scalar_subquery()
    best_sellers = (
        select(p.id, p.sold.label("score"), literal(1).label("tier"))
        .join_from(t.together_best_seller, t.product, p.id == best.product_id)
        .where(best.category_id.in_(shelves), on_sale, p.id.not_in(select(together.c.id)))
        .order_by(p.sold.desc(), p.id.desc())
        .limit(limit)
    )
    both = union_all(select(together), best_sellers.subquery().select()).subquery()
    return (
        select(*t.product.c, both.c.tier)
        .join_from(both, t.product, p.id == both.c.id)
        .order_by(both.c.tier, both.c.score.desc(), p.id.desc())
        .limit(limit)
    )


def _fold_batch(conn: Connection) -> tuple[bool, set[int]]:
    """Fold up to BATCH paid and refunded steps.

    Returns whether there may be more to fold now, and the products those orders bought.
    """
    query = select(t.together_fold).where(fold_c.id == 1)
    postgres = conn.dialect.name != "sqlite"
    if postgres:
        query = query.with_for_update(skip_locked=True)
    state = conn.execute(query).first()
    if state is None:
        return False, set()  # another process is folding
    horizon, writers = state.horizon, state.horizon_writers
    if state.folded_upto >= horizon:  # all counted up to the horizon: look further
        newest = conn.execute(select(func.max(e.id))).scalar() or 0
        if newest <= horizon:
            return False, set()
        horizon = newest
        writers = list(conn.execute(_WRITERS).scalars()) if postgres else []
        conn.execute(
            update(t.together_fold)
            .where(fold_c.id == 1)
            .values(horizon=horizon, horizon_writers=writers)
        )
        if writers:  # they may yet commit steps below the horizon: at the next run
            return False, set()
    elif writers:
        if set(writers) & set(conn.execute(_WRITERS).scalars()):
            return False, set()
        conn.execute(update(t.together_fold).where(fold_c.id == 1).values(horizon_writers=[]))
    upto, sold = _count(conn, state.folded_upto, horizon)
    conn.execute(update(t.together_fold).where(fold_c.id == 1).values(folded_upto=upto))
    return True, sold


def _count(conn: Connection, after: int, upto: int) -> tuple[int, set[int]]:
    """Count the paid and refunded steps with ids in (after, upto], BATCH at most.

    Returns the last step counted, and the products their orders bought.
    """
    steps = conn.execute(
        select(e.id, e.order_id, e.status)
        .where(e.id > after, e.id <= upto, e.status.in_(list(_WEIGHT)))
        .order_by(e.id)
        .limit(BATCH)
    ).all()
    weights: Counter[int] = Counter()
    for step in steps:
        weights[step.order_id] += _WEIGHT[step.status]
    bought: defaultdict[int, set[int]] = defaultdict(set)
    if weights:
        line = t.order_line.c
        lines = conn.execute(
            select(line.order_id, line.product_id).where(
                line.order_id.in_(bindparam("orders", expanding=True)),
                line.product_id.is_not(None),
            ),
            {"orders": list(weights)},
        )
        for order_id, product_id in lines:
            bought[order_id].add(product_id)
    pairs: Counter[tuple[int, int]] = Counter()
    for order_id, products in bought.items():
        for one in products:
            for other in products - {one}:
                pairs[one, other] += weights[order_id]
    _add(conn, pairs)
    last = steps[-1].id if len(steps) == BATCH else upto
    return last, set().union(*bought.values())


def _add(conn: Connection, pairs: Counter[tuple[int, int]]) -> None:
    """Add the counts to the pairs, and drop the pairs no order holds any more."""
    changed = [
        {"product_id": one, "other_id": other, "orders": n}
        for (one, other), n in sorted(pairs.items())
        if n
    ]
    if not changed:
        return
    insert: Any = insert_for(conn, t.together_pair)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["product_id", "other_id"],
            set_={"orders": tp.orders + insert.excluded.orders},
        ),
        changed,
    )
    if any(pair["orders"] < 0 for pair in changed):  # a refund
        touched = sorted({pair["product_id"] for pair in changed})
        conn.execute(t.together_pair.delete().where(tp.product_id.in_(touched), tp.orders <= 0))


def _shelves(conn: Connection, products: list[int]) -> list[int]:
    """Return the categories of `products`."""
    query = select(p.category_id).distinct().where(p.id.in_(products), p.category_id.is_not(None))
    return sorted(conn.execute(query).scalars())


def _keep_best_sellers(conn: Connection, shelf: int, chosen: list[int]) -> None:
    """Make `chosen` the best sellers kept for a category."""
    conn.execute(t.together_best_seller.delete().where(best.category_id == shelf))
    if chosen:
        rows = [{"category_id": shelf, "product_id": product} for product in chosen]
        conn.execute(insert_for(conn, t.together_best_seller).on_conflict_do_nothing(), rows)


def _forget(conn: Connection) -> None:
    """Drop every count and the watermark, so the next fold counts every order again."""
    lock = select(fold_c.id).where(fold_c.id == 1)
    if conn.dialect.name != "sqlite":
        lock = lock.with_for_update()  # after a fold under way, never in its middle
    conn.execute(lock)
    conn.execute(t.together_pair.delete())
    conn.execute(update(t.together_fold).where(fold_c.id == 1).values(folded_upto=0))
