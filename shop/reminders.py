"""Abandoned carts: one reminder per cart, once it has been left alone for the owner's delay.

"The same cart" is the cart as it was at its last change (`cart.updated_at`: an
item put in, a quantity changed, a promo code entered). Its reminder is settled
once: written, or found not wanted, and `cart.reminded_for` then holds that change's
time. A cart changed afterwards (the customer came back, or emptied it and filled
it again) is a new cart, with a reminder of its own once left alone again;
emptying alone changes nothing. A reminder is wanted when, at the delay's end,
the cart still holds something, its customer has not ordered since its last
change (on any of their channels), may receive marketing (`marketing_consent`) and can be reached; and the
cart was left no longer than `FRESH_FOR` past the delay ago (turned on late, or
after a long downtime, the shop does not remind of carts long forgotten).

Several processes may scan at once: on PostgreSQL each locks the carts it settles
and skips those another holds (FOR UPDATE SKIP LOCKED), so one cart's reminder is
written by one of them; SQLite runs one writer at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.engine import Connection

from shop import outbox
from shop import tables as t
from shop.db import Database
from shop.persons import PERSON_ID, person_identities
from shop.types import utcnow

BATCH = 500  # carts settled in one transaction
FRESH_FOR = timedelta(days=2)

c = t.cart.c
UNSETTLED = or_(c.reminded_for.is_(None), c.reminded_for < c.updated_at)  # ix_cart_unsettled


class CartReminderService:
    """Writes the reminders of carts left alone, each once."""

    def __init__(
        self, db: Database, after: timedelta | None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._db = db
        self._after = after  # None: reminders are off
        self._clock = clock

    async def remind(self) -> datetime | None:
        """Settle every cart left alone for the delay; return when the next one will be due.

        Returns None when no cart waits (or reminders are off).
        """
        after = self._after
        if after is None:
            return None
        while True:
            now = self._clock()
            settled, due = await self._db.write(partial(self._settle, now=now, after=after))
            if settled < BATCH:
                return due

    def _settle(
        self, conn: Connection, now: datetime, after: timedelta
    ) -> tuple[int, datetime | None]:
        """Settle up to BATCH due carts; return how many, and when the next unsettled one comes due."""
        cutoff = now - after
        cu = t.customer.c
        has_items = exists().where(t.cart_item.c.customer_id == c.customer_id)
        ordered_since = exists().where(  # on any channel of the person's
            t.order.c.customer_id.in_(person_identities(PERSON_ID)),
            t.order.c.created_at >= c.updated_at,
        )
        wanted = and_(
            has_items,
            ~ordered_since,
            cu.marketing_consent,
            cu.unreachable_at.is_(None),
            c.updated_at >= cutoff - FRESH_FOR,
        )
        due = (
            select(c.customer_id, c.updated_at, wanted.label("wanted"))
            .join_from(t.cart, t.customer, cu.id == c.customer_id)
            .where(UNSETTLED, c.updated_at <= cutoff)
            .order_by(c.updated_at)
            .limit(BATCH)
        )
        if conn.dialect.name != "sqlite":  # another scanner's carts are its own to settle
            due = due.with_for_update(of=t.cart, skip_locked=True)
        carts = conn.execute(due).all()
        if carts:
            conn.execute(
                update(t.cart)
                .where(c.customer_id.in_([cart.customer_id for cart in carts]))
                .values(reminded_for=c.updated_at)
            )
            reminders = [
                (cart.customer_id, {"cart_at": cart.updated_at.isoformat()})
                for cart in carts
                if cart.wanted
            ]
            if reminders:
                outbox.to_reachable(conn, outbox.Kind.CART_REMINDER, reminders, now)
        upcoming = conn.execute(select(func.min(c.updated_at)).where(UNSETTLED)).scalar_one()
        return len(carts), None if upcoming is None else max(upcoming + after, now)
