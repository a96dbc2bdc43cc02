"""Promo codes: percent or fixed discounts with a minimum, a validity window and usage limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from shop import persons
from shop import tables as t
from shop.db import Database
from shop.errors import NotFoundError, PromoProblem, PromoRejectedError
from shop.models import PromoCode, PromoKind
from shop.plaintext import clean, control_in
from shop.pricing import promo_discount
from shop.sql import insert_for
from shop.types import utcnow

MAX_CODE_LENGTH = 32  # the column's


def normalize_code(code: str) -> str:
    """Return a promo code as stored: without control characters, trimmed and upper-case."""
    return clean(code).strip().upper()


def discount_for(
    promo: PromoCode, subtotal: int, currency: str, *, customer_uses: int, now: datetime
) -> int:
    """Return the discount `promo` gives on `subtotal`, or raise why it does not apply.

    `customer_uses` counts the customer's own uses of it so far.
    """
    if not promo.active:
        raise PromoRejectedError(promo.code, PromoProblem.UNKNOWN)
    if promo.starts_at is not None and now < promo.starts_at:
        raise PromoRejectedError(promo.code, PromoProblem.NOT_STARTED)
    if promo.ends_at is not None and now >= promo.ends_at:
        raise PromoRejectedError(promo.code, PromoProblem.EXPIRED)
    if promo.usage_limit is not None and promo.used_count >= promo.usage_limit:
        raise PromoRejectedError(promo.code, PromoProblem.USED_UP)
    if promo.per_customer is not None and customer_uses >= promo.per_customer:
        raise PromoRejectedError(promo.code, PromoProblem.ALREADY_USED)
    if promo.currency is not None and promo.currency != currency:
        raise PromoRejectedError(promo.code, PromoProblem.WRONG_CURRENCY)
    if subtotal < promo.min_total:
        raise PromoRejectedError(promo.code, PromoProblem.BELOW_MINIMUM, minimum=promo.min_total)
    return promo_discount(promo.kind, promo.value, subtotal, currency)


def load_promo(conn: Connection, code: str) -> PromoCode | None:
    """Return the promo code, or None if there is none."""
    row = (conn.execute(select(t.promo_code).where(t.promo_code.c.code == code))).first()
    return None if row is None else PromoCode(**row._mapping)


def customer_uses(conn: Connection, code: str, customer_id: int) -> int:
    """Return how many orders of this customer (on any channel of their person's) hold a use of the code."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(t.promo_redemption)
            .where(
                t.promo_redemption.c.code == code,
                t.promo_redemption.c.customer_id.in_(persons.identity_ids(customer_id)),
            )
        ).scalar_one()
    )


def redeem(
    conn: Connection, promo: PromoCode, customer_id: int, order_id: int, now: datetime
) -> None:
    """Count one use of `promo` for an order, atomically against its limit and the customer's.

    Raises:
        PromoRejectedError: the code is used up, or this customer has used it as often as it allows.
    """
    taken = conn.execute(
        update(t.promo_code)
        .where(t.promo_code.c.code == promo.code)
        .where(
            (t.promo_code.c.usage_limit.is_(None))
            | (t.promo_code.c.used_count < t.promo_code.c.usage_limit)
        )
        .values(used_count=t.promo_code.c.used_count + 1)
        .returning(t.promo_code.c.per_customer)
    ).first()
    if taken is None:
        raise PromoRejectedError(promo.code, PromoProblem.USED_UP)
    # The update holds the code's row until the transaction ends (SQLite has one writer;
    # PostgreSQL locks the row), so a customer's uses are counted one checkout at a time,
    # and this count sees every use committed before: two checkouts never share a last use.
    limit = taken.per_customer
    if limit is not None and customer_uses(conn, promo.code, customer_id) >= limit:
        raise PromoRejectedError(promo.code, PromoProblem.ALREADY_USED)
    conn.execute(
        t.promo_redemption.insert().values(
            code=promo.code, customer_id=customer_id, order_id=order_id, at=now
        )
    )


def release(conn: Connection, order_ids: list[int]) -> None:
    """Give back the promo uses of orders that were cancelled before payment."""
    rows = (
        (
            conn.execute(
                delete(t.promo_redemption)
                .where(t.promo_redemption.c.order_id.in_(order_ids))
                .returning(t.promo_redemption.c.code)
            )
        )
        .scalars()
        .all()
    )
    for code in rows:
        conn.execute(
            update(t.promo_code)
            .where(t.promo_code.c.code == code)
            .values(used_count=t.promo_code.c.used_count - 1)
        )


class PromoService:
    """Staff create and retire promo codes."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def create(
        self,
        code: str,
        kind: PromoKind,
        value: int,
        *,
        currency: str | None = None,
        min_total: int = 0,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        usage_limit: int | None = None,
        per_customer: int | None = 1,
    ) -> PromoCode:
        """Create a promo code; percent values are 1..100, fixed values minor units.

        `usage_limit` caps the uses by everyone and `per_customer` those by one
        customer (None: no cap).

        Raises:
            ValueError: a value out of range, or a code that exists already.
        """
        if kind == PromoKind.PERCENT and not 0 < value <= 100:
            raise ValueError("a percent discount is between 1 and 100")
        if kind == PromoKind.FIXED and (currency is None or value <= 0):
            raise ValueError("a fixed discount is an amount above 0 in a currency")
        if any(limit is not None and limit < 1 for limit in (usage_limit, per_customer)):
            raise ValueError("a limit of uses is at least 1")
        control = control_in(code)
        if control is not None:
            raise ValueError(f"a promo code cannot hold a control character ({control})")
        normalized = normalize_code(code)
        if not 0 < len(normalized) <= MAX_CODE_LENGTH:
            raise ValueError(f"a promo code has 1 to {MAX_CODE_LENGTH} characters")
        promo = PromoCode(
            code=normalized,
            kind=kind.value,
            value=value,
            currency=currency,
            min_total=min_total,
            starts_at=starts_at,
            ends_at=ends_at,
            usage_limit=usage_limit,
            per_customer=per_customer,
        )

        def work(conn: Connection) -> None:
            insert = insert_for(conn, t.promo_code).values(**promo.model_dump())
            if conn.execute(insert.on_conflict_do_nothing()).rowcount != 1:
                raise ValueError(f"promo code {promo.code} already exists")

        await self._db.write(work)
        return promo

    async def list_codes(self) -> list[PromoCode]:
        """Return every promo code, active or not, by code."""

        def work(conn: Connection) -> list[PromoCode]:
            rows = conn.execute(select(t.promo_code).order_by(t.promo_code.c.code))
            return [PromoCode(**row._mapping) for row in rows]

        return await self._db.read(work)

    async def deactivate(self, code: str) -> None:
        """Stop a promo code from applying to new carts and checkouts; orders placed keep it.

        Raises:
            NotFoundError: no such code.
        """
        normalized = normalize_code(code)

        def work(conn: Connection) -> None:
            changed = conn.execute(
                update(t.promo_code).where(t.promo_code.c.code == normalized).values(active=False)
            )
            if changed.rowcount != 1:
                raise NotFoundError("promo code", normalized)

        await self._db.write(work)
