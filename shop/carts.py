"""Carts: what a customer is about to buy, kept in the database so no restart loses it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection

from shop import pricing
from shop import tables as t
from shop.analytics import EventKind, Visit, append_event
from shop.catalog import load_product
from shop.db import Database
from shop.errors import (
    NotFoundError,
    OutOfStockError,
    ProductUnavailableError,
    PromoProblem,
    PromoRejectedError,
    Shortage,
)
from shop.promos import customer_uses, discount_for, load_promo, normalize_code
from shop.sql import upsert
from shop.types import utcnow
from shop.views import ProductView

MAX_QUANTITY = 99


@dataclass(frozen=True, slots=True)
class CartLine:
    """A product in the cart and how many."""

    product: ProductView
    quantity: int

    @property
    def total(self) -> int:
        """Return the line's price in minor units."""
        return pricing.subtotal([(self.product.price, self.quantity)])


@dataclass(frozen=True, slots=True)
class CartView:
    """The cart with its totals, as the customer sees it."""

    customer_id: int
    lines: list[CartLine]
    currency: str | None
    subtotal: int
    discount: int
    promo_code: str | None
    promo_problem: PromoRejectedError | None

    @property
    def totals(self) -> pricing.Totals:
        """Return what the cart costs, before delivery."""
        return pricing.Totals(self.currency or "", self.subtotal, self.discount)

    @property
    def total(self) -> int:
        """Return what the customer pays before delivery."""
        return self.totals.goods

    @property
    def units(self) -> int:
        """Return how many units the cart holds."""
        return sum(line.quantity for line in self.lines)

    @property
    def digital_only(self) -> bool:
        """Tell whether nothing in the cart needs delivery."""
        return bool(self.lines) and all(line.product.digital for line in self.lines)


# Built once: a prebuilt statement skips construction and cache-key work on every call.
_PRODUCT_COLUMNS = len(t.product.c)
_CART_LINES = (
    select(*t.product.c, t.cart_item.c.quantity, t.cart.c.promo_code)
    .select_from(
        t.cart_item.join(t.product, t.product.c.id == t.cart_item.c.product_id).outerjoin(
            t.cart, t.cart.c.customer_id == t.cart_item.c.customer_id
        )
    )
    .where(t.cart_item.c.customer_id == bindparam("customer_id"))
    .order_by(t.cart_item.c.added_at, t.product.c.id)
)
_CART_PROMO = select(t.cart.c.promo_code).where(t.cart.c.customer_id == bindparam("customer_id"))
_IN_CART = select(t.cart_item.c.quantity).where(
    t.cart_item.c.customer_id == bindparam("customer_id"),
    t.cart_item.c.product_id == bindparam("product_id"),
)
_OTHER_CURRENCY = (
    select(t.product.c.currency)
    .join(t.cart_item, t.cart_item.c.product_id == t.product.c.id)
    .where(
        t.cart_item.c.customer_id == bindparam("customer_id"),
        t.product.c.currency != bindparam("currency"),
    )
    .limit(1)
)


def load_cart(
    conn: Connection, customer_id: int, now: datetime, *, only: tuple[int, int] | None = None
) -> CartView:
    """Read a cart with its products and work out its totals and discount.

    With `only` = (product id, quantity), read instead what buying just that product at
    once ("Buy now") would be: the cart's promo code applies to it if it can, and is
    left out if it cannot. A product that does not exist raises NotFoundError.
    """
    if only is None:
        rows = conn.execute(_CART_LINES, {"customer_id": customer_id}).all()
        # ProductView's fields follow the product table's columns (a test holds them together).
        lines = [CartLine(ProductView(*row[:_PRODUCT_COLUMNS]), row.quantity) for row in rows]
    else:
        product = load_product(conn, only[0])
        if product is None:
            raise NotFoundError("product", only[0])
        rows, lines = [], [CartLine(product, only[1])]
    # The lines carry the code; an empty cart, or one product bought at once, asks for it.
    code = (
        rows[0].promo_code
        if rows
        else conn.execute(_CART_PROMO, {"customer_id": customer_id}).scalar_one_or_none()
    )
    currency = lines[0].product.currency if lines else None
    subtotal = pricing.subtotal((line.product.price, line.quantity) for line in lines)
    discount, problem = 0, None
    if code and currency:
        promo = load_promo(conn, code)
        try:
            if promo is None:
                raise PromoRejectedError(code, PromoProblem.UNKNOWN)
            uses = customer_uses(conn, code, customer_id)
            discount = discount_for(promo, subtotal, currency, customer_uses=uses, now=now)
        except PromoRejectedError as rejected:
            problem = rejected
    if only is not None and problem is not None:
        code, problem = None, None  # bought at once, it goes without the code
    return CartView(customer_id, lines, currency, subtotal, discount, code, problem)


class CartService:
    """Adds, changes and removes what is in a customer's cart."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def view(self, customer_id: int) -> CartView:
        """Return the cart with totals."""

        def work(conn: Connection) -> CartView:
            return load_cart(conn, customer_id, self._clock())

        return await self._db.read(work)

    async def add(
        self, customer_id: int, product_id: int, quantity: int = 1, *, visit: Visit | None = None
    ) -> CartView:
        """Put `quantity` more of a product in the cart, within what is in stock.

        With a `visit`, the funnel's add-to-cart event is written in the same transaction.
        """
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        key = {"customer_id": customer_id, "product_id": product_id}

        def work(conn: Connection) -> CartView:
            in_cart = conn.execute(_IN_CART, key).scalar_one_or_none() or 0
            cart = self._put(conn, customer_id, product_id, in_cart + quantity)
            if visit is not None:
                append_event(
                    conn,
                    EventKind.ADD_TO_CART,
                    visit,
                    self._clock(),
                    product_id=product_id,
                    value=quantity,
                )
            return cart

        return await self._db.write(work)

    async def set_quantity(self, customer_id: int, product_id: int, quantity: int) -> CartView:
        """Set how many of a product the cart holds; zero removes it."""
        if quantity < 0:
            raise ValueError("quantity cannot be negative")

        def work(conn: Connection) -> CartView:
            if quantity == 0:
                self._delete(conn, customer_id, product_id)
                return load_cart(conn, customer_id, self._clock())
            return self._put(conn, customer_id, product_id, quantity)

        return await self._db.write(work)

    async def remove(self, customer_id: int, product_id: int) -> CartView:
        """Take a product out of the cart."""
        return await self.set_quantity(customer_id, product_id, 0)

    async def clear(self, customer_id: int) -> CartView:
        """Empty the cart, promo code included."""

        def work(conn: Connection) -> CartView:
            conn.execute(delete(t.cart_item).where(t.cart_item.c.customer_id == customer_id))
            conn.execute(
                update(t.cart).where(t.cart.c.customer_id == customer_id).values(promo_code=None)
            )
            return load_cart(conn, customer_id, self._clock())

        return await self._db.write(work)

    async def apply_promo(self, customer_id: int, code: str) -> CartView:
        """Apply a promo code to the cart, or raise why it does not apply now."""
        code = normalize_code(code)
        now = self._clock()

        def work(conn: Connection) -> CartView:
            promo = load_promo(conn, code)
            if promo is None or not promo.active:
                raise PromoRejectedError(code, PromoProblem.UNKNOWN)
            cart = load_cart(conn, customer_id, now)
            uses = customer_uses(conn, code, customer_id)
            # An empty cart still takes a code (it may come from a poster before shopping);
            # the minimum and currency are checked against the cart once it has something.
            subtotal, currency = (
                (cart.subtotal, cart.currency) if cart.lines else (promo.min_total, promo.currency)
            )
            discount_for(promo, subtotal, currency or "", customer_uses=uses, now=now)
            self._save_header(conn, customer_id, now, promo_code=code)
            return load_cart(conn, customer_id, now)

        return await self._db.write(work)

    def _put(self, conn: Connection, customer_id: int, product_id: int, quantity: int) -> CartView:
        now = self._clock()
        product = load_product(conn, product_id)
        if product is None:
            raise NotFoundError("product", product_id)
        if not product.active:
            raise ProductUnavailableError(product.sku, "no longer sold")
        other_currency = conn.execute(
            _OTHER_CURRENCY, {"customer_id": customer_id, "currency": product.currency}
        ).scalar_one_or_none()
        if other_currency is not None:
            raise ProductUnavailableError(
                product.sku, f"priced in {product.currency}, the cart in {other_currency}"
            )
        quantity = min(quantity, MAX_QUANTITY)
        if quantity > product.stock:
            raise OutOfStockError(
                [Shortage(product_id, product.sku, product.title, quantity, product.stock)]
            )
        self._save_header(conn, customer_id, now)
        conn.execute(
            upsert(conn, t.cart_item, ("customer_id", "product_id"), ("quantity",)),
            {
                "customer_id": customer_id,
                "product_id": product_id,
                "quantity": quantity,
                "added_at": now,
            },
        )
        return load_cart(conn, customer_id, now)

    def _delete(self, conn: Connection, customer_id: int, product_id: int) -> None:
        conn.execute(
            delete(t.cart_item).where(
                t.cart_item.c.customer_id == customer_id,
                t.cart_item.c.product_id == product_id,
            )
        )

    def _save_header(
        self, conn: Connection, customer_id: int, now: datetime, **promo_code: str | None
    ) -> None:
        """Create the cart header if needed, mark the cart changed, and set a given promo code."""
        values = {"customer_id": customer_id, "updated_at": now, **promo_code}
        changes = tuple(name for name in values if name != "customer_id")
        conn.execute(upsert(conn, t.cart, ("customer_id",), changes), values)
