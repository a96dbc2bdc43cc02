"""Payment rows: read, recorded and changed inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from payments.interface import PaymentRecord, PaymentStatus
from shop import tables as t

p = t.payment


def load(conn: Connection, *where: Any) -> PaymentRecord | None:
    """Return the payment matching `where`, or None."""
    row = conn.execute(select(p).where(*where)).first()
    return None if row is None else PaymentRecord.from_row(row)


def insert(conn: Connection, now: datetime, **values: Any) -> PaymentRecord:
    """Record a new payment attempt, not yet paid."""
    values.update(status=PaymentStatus.CREATED, data={}, created_at=now, updated_at=now)
    row = conn.execute(p.insert().values(**values).returning(*p.c)).one()
    return PaymentRecord.from_row(row)


def change(
    conn: Connection, payment_id: int, current: tuple[str, ...], **values: Any
) -> PaymentRecord | None:
    """Update a payment if it is still in one of `current`; return it, or None if it was not.

    The status check in the statement itself makes each move happen once, whoever races.
    """
    row = conn.execute(
        update(p)
        .where(p.c.id == payment_id, p.c.status.in_(current))
        .values(**values)
        .returning(*p.c)
    ).first()
    return None if row is None else PaymentRecord.from_row(row)
