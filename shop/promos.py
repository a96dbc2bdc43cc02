"""Promo codes: percent or fixed discounts with a minimum, a validity window and usage limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.db import Database
from shop.errors import PromoProblem, PromoRejectedError
from shop.models import PromoCode, PromoKind
from shop.plaintext import clean, control_in
from shop.pricing import promo_discount
from shop.types import utcnow


def normalize_code(code: str) -> str:
    """Return a promo code as stored: without control characters, trimmed and upper-case."""
    return clean(code).strip().upper()


def discount_for(
    promo: PromoCode, subtotal: int, currency: str, *, used_by_customer: bool, now: datetime
) -> int:
    """Return the discount `promo` gives on `subtotal`, or raise why it does not apply."""
    if not promo.active:
        raise PromoRejectedError(promo.code, PromoProblem.UNKNOWN)
    if promo.starts_at is not None and now < promo.starts_at:
        raise PromoRejectedError(promo.code, PromoProblem.NOT_STARTED)
    if promo.ends_at is not None and now >= promo.ends_at:
        raise PromoRejectedError(promo.code, PromoProblem.EXPIRED)
    if promo.usage_limit is not None and promo.used_count >= promo.usage_limit:
        raise PromoRejectedError(promo.code, PromoProblem.USED_UP)
    if promo.once_per_customer and used_by_customer:
        raise PromoRejectedError(promo.code, PromoProblem.ALREADY_USED)
    if promo.currency is not None and promo.currency != currency:
        raise PromoRejectedError(promo.code, PromoProblem.WRONG_CURRENCY)
    if subtotal < promo.min_total:
        raise PromoRejectedError(promo.code, PromoProblem.BELOW_MINIMUM, minimum=promo.min_total)
    return promo_discount(promo.kind, promo.value, subtotal, currency)


def load_promo(conn: Connection, code: str, customer_id: int) -> tuple[PromoCode, bool] | None:
    """Return the promo code and whether this customer has used it, or None if there is none."""
    row = (conn.execute(select(t.promo_code).where(t.promo_code.c.code == code))).first()
    if row is None:
        return None
    used = (
        conn.execute(
            select(
                exists().where(
                    t.promo_redemption.c.code == code,
                    t.promo_redemption.c.customer_id == customer_id,
                )
            )
        )
    ).scalar_one()
    return PromoCode(**row._mapping), bool(used)


def redeem(
    conn: Connection, promo: PromoCode, customer_id: int, order_id: int, now: datetime
) -> None:
    """Count one use of `promo` for an order, atomically against its limit and once-per-customer."""
    taken = conn.execute(
        update(t.promo_code)
        .where(t.promo_code.c.code == promo.code)
        .where(
            (t.promo_code.c.usage_limit.is_(None))
            | (t.promo_code.c.used_count < t.promo_code.c.usage_limit)
        )
        .values(used_count=t.promo_code.c.used_count + 1)
    )
    if taken.rowcount != 1:
        raise PromoRejectedError(promo.code, PromoProblem.USED_UP)
    # The unique (code, once_key) constraint is the last word on "once per customer".
    conn.execute(
        t.promo_redemption.insert().values(
            code=promo.code,
            customer_id=customer_id,
            order_id=order_id,
            once_key=customer_id if promo.once_per_customer else None,
            at=now,
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
        once_per_customer: bool = True,
    ) -> PromoCode:
        """Create a promo code; percent values are 1..100, fixed values minor units."""
        if kind == PromoKind.PERCENT and not 0 < value <= 100:
            raise ValueError("a percent discount is between 1 and 100")
        if kind == PromoKind.FIXED and currency is None:
            raise ValueError("a fixed discount needs a currency")
        control = control_in(code)
        if control is not None:
            raise ValueError(f"a promo code cannot hold a control character ({control})")
        promo = PromoCode(
            code=normalize_code(code),
            kind=kind.value,
            value=value,
            currency=currency,
            min_total=min_total,
            starts_at=starts_at,
            ends_at=ends_at,
            usage_limit=usage_limit,
            once_per_customer=once_per_customer,
        )

        def work(conn: Connection) -> None:
            conn.execute(t.promo_code.insert().values(**promo.model_dump()))

        await self._db.write(work)
        return promo

    async def deactivate(self, code: str) -> None:
        """Stop a promo code from applying to new carts and checkouts."""

        def work(conn: Connection) -> None:
            conn.execute(
                update(t.promo_code)
                .where(t.promo_code.c.code == normalize_code(code))
                .values(active=False)
            )

        await self._db.write(work)
