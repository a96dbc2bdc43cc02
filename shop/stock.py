"""Stock: units reserved for orders, given back, and counted as sold; never below zero.

Every function runs inside its caller's transaction. On PostgreSQL the product
rows are locked in id order before they change, so concurrent writers never
deadlock; SQLite needs nothing, a write transaction there holding the whole
database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection

from shop import promos
from shop import tables as t
from shop.errors import OutOfStockError, Shortage
from shop.models import Reservation
from shop.sql import bump_revision
from shop.stock_alerts import tell_restocked

# What reserving asks for: (product id, sku, title, quantity).
Wanted = tuple[int, str, str, int]

# Built once (see shop/carts.py on why): the whole cart's quantities off stock in one statement.
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
_RESERVE_ONE = (
    update(t.product)
    .where(t.product.c.id == bindparam("product_id"), t.product.c.stock >= bindparam("quantity"))
    .values(stock=t.product.c.stock - bindparam("quantity"))
    .returning(t.product.c.id, t.product.c.stock)
)


def reserve(conn: Connection, wanted: Sequence[Wanted], *, cart_of: int | None = None) -> None:
    """Take every wanted quantity off stock, or raise OutOfStockError and take nothing.

    With `cart_of`, `wanted` is that customer's cart and one statement takes it all.
    Products that sell out are marked changed, so search shows them as sold out.
    """
    ids = [product_id for product_id, *_ in wanted]
    lock_products(conn, ids)
    if cart_of is not None:
        rows = conn.execute(_RESERVE_CART, {"customer_id": cart_of}).all()
    else:
        rows = [
            row
            for product_id, _sku, _title, quantity in wanted
            for row in conn.execute(_RESERVE_ONE, {"product_id": product_id, "quantity": quantity})
        ]
    if len(rows) != len(ids):
        raise OutOfStockError(_shortages(conn, wanted, {row.id for row in rows}))
    sold_out = [row.id for row in rows if row.stock == 0]
    if sold_out:  # search shows availability: tell it these ran out
        bump_revision(conn, sold_out)


def _shortages(conn: Connection, wanted: Sequence[Wanted], got: set[int]) -> list[Shortage]:
    """Return what is short of each product that could not be reserved."""
    ids = [product_id for product_id, *_ in wanted]
    left = dict(
        conn.execute(select(t.product.c.id, t.product.c.stock).where(t.product.c.id.in_(ids))).all()
    )
    return [
        # Units our own statement took already are added back for the message.
        Shortage(
            product_id,
            sku,
            title,
            quantity,
            left[product_id] + (quantity if product_id in got else 0),
        )
        for product_id, sku, title, quantity in wanted
        if product_id not in got
    ]


def retake(conn: Connection, order_id: int) -> bool:
    """Take an order's units off stock again (its hold had run out); False if any is short.

    On False some units may have been taken: the caller rolls back to a savepoint.
    """
    lines = conn.execute(
        select(
            t.order_line.c.product_id,
            t.order_line.c.sku,
            t.order_line.c.title,
            t.order_line.c.quantity,
        ).where(t.order_line.c.order_id == order_id)
    ).all()
    if any(line.product_id is None for line in lines):
        return False  # a product of it was deleted since
    try:
        reserve(conn, [(ln.product_id, ln.sku, ln.title, ln.quantity) for ln in lines])
    except OutOfStockError:
        return False
    return True


def release(
    conn: Connection, order_ids: list[int], reservation: Reservation, now: datetime
) -> None:
    """Give the held stock and promo uses of these orders back; mark their reservation `reservation`."""
    if not order_ids:
        return
    conn.execute(
        update(t.order)
        .where(t.order.c.id.in_(order_ids), t.order.c.reservation == Reservation.HELD)
        .values(reservation=reservation)
    )
    restock(conn, order_ids, now)
    promos.release(conn, order_ids)


def restock(conn: Connection, order_ids: list[int], now: datetime) -> None:
    """Put the units of these orders back on stock; whoever waits for one of them is told."""
    lines = select(t.order_line.c.product_id).where(t.order_line.c.order_id.in_(order_ids))
    product_ids = [p for p in conn.execute(lines).scalars() if p is not None]
    lock_products(conn, product_ids)
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
    tell_restocked(conn, now, product_ids)


def count_sold(conn: Connection, order_id: int, sign: int) -> None:
    """Add (or take back) an order's units to the products' sales count, which ranks search."""
    _lock_order_products(conn, order_id)
    conn.execute(
        update(t.product)
        .where(t.product.c.id == t.order_line.c.product_id, t.order_line.c.order_id == order_id)
        .values(sold=t.product.c.sold + sign * t.order_line.c.quantity)
    )


def lock_products(conn: Connection, ids: Sequence[int | None]) -> None:
    """Lock product rows in id order on PostgreSQL, so concurrent writers never deadlock."""
    if conn.dialect.name == "sqlite" or not ids:
        return
    conn.execute(
        select(t.product.c.id)
        .where(t.product.c.id.in_(ids))
        .order_by(t.product.c.id)
        .with_for_update()
    )


def _lock_order_products(conn: Connection, order_id: int) -> None:
    """Lock, in id order, the products of an order (PostgreSQL only, as above)."""
    if conn.dialect.name == "sqlite":
        return
    in_order = select(t.order_line.c.product_id).where(t.order_line.c.order_id == order_id)
    conn.execute(
        select(t.product.c.id)
        .where(t.product.c.id.in_(in_order))
        .order_by(t.product.c.id)
        .with_for_update()
    )
