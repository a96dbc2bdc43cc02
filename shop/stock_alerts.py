"""Back in stock: a customer's "Notify me" on a sold-out product, and the one message it earns.

A request is one row per customer and product, so asking twice is asking once.
Every change that can put a product back on sale (a catalog import, staff setting
its stock, an order's units given back) calls `tell_restocked` in its own
transaction: the requests of products now in stock are deleted and a message for
each is queued there, so a request is told exactly once, with the stock change or
not at all. Concurrent changes on PostgreSQL delete a request once: the second
waits for the first's row lock and then finds it gone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from shop import outbox
from shop import tables as t
from shop.db import Database
from shop.sql import insert_for
from shop.types import utcnow

r = t.stock_request


def tell_restocked(
    conn: Connection, now: datetime, product_ids: Sequence[int] | None = None
) -> int:
    """Queue a message for every request of a product on sale and in stock, and consume them.

    Only `product_ids` are looked at when given (else every requested product).
    Return how many messages were queued (customers who blocked the bot get none).
    """
    p = t.product.c
    available = select(p.id).where(p.stock > 0, p.active)
    if product_ids is not None:
        available = available.where(p.id.in_(product_ids))
    told = conn.execute(
        delete(r).where(r.c.product_id.in_(available)).returning(r.c.customer_id, r.c.product_id)
    ).all()
    if not told:
        return 0
    messages = [(row.customer_id, {"product_id": row.product_id}) for row in told]
    return outbox.to_reachable(conn, outbox.Kind.BACK_IN_STOCK, messages, now)


class StockAlertService:
    """Customers' requests to hear when a sold-out product is back."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def ask(self, customer_id: int, product_id: int) -> None:
        """Remember that the customer wants to hear when the product is back (once, however often asked)."""
        values = {"customer_id": customer_id, "product_id": product_id, "created_at": self._clock()}

        def work(conn: Connection) -> None:
            conn.execute(
                insert_for(conn, r)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["customer_id", "product_id"])
            )

        await self._db.write(work)

    async def asked(self, customer_id: int, product_id: int) -> bool:
        """Tell whether the customer waits to hear that the product is back."""
        query = select(r.c.product_id).where(
            r.c.customer_id == customer_id, r.c.product_id == product_id
        )

        def work(conn: Connection) -> bool:
            return conn.execute(query).first() is not None

        return await self._db.read(work)
