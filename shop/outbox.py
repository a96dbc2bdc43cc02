"""Outbound messages: what the shop says unasked, queued in the transaction of the change that causes it.

A status change, a refund, a staff answer or a staff alert is written here by the
same transaction that makes the change, so neither can exist without the other:
a crash loses no message and sends none for a change that did not happen. The
delivery worker (bot/delivery.py) claims due messages, composes each in its
recipient's language and sends it; several workers share the queue (PostgreSQL's
FOR UPDATE SKIP LOCKED), and a claim is a lease, so a worker killed while sending
leaves its messages to be sent again once the lease runs out: only a message in
flight at that very moment may go out twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.db import Database
from shop.errors import NotFoundError
from shop.sql import claim, insert_for
from shop.types import utcnow

o = t.outbound_message
r = t.outbound_ref
STAFF = "staff"  # the channel of a message for every staff member
# Which broadcast last reached a customer, and when (shop/broadcasts.py credits the visit
# it brings): one row by its key, beside the message's own update; built once.
_REACHED = (
    update(t.customer)
    .where(t.customer.c.id == bindparam("customer"))
    .values(last_broadcast_id=bindparam("broadcast"), last_broadcast_at=bindparam("at"))
)


class Urgency(IntEnum):
    """What goes first when a platform's budget is short: the smaller, the sooner."""

    REPLY = 0  # an answer to a customer who is waiting for it (never queued here)
    PUSH = 1  # news of a customer's own order, staff answers and alerts
    BROADCAST = 2  # what the shop says to many at once


class Kind(StrEnum):
    """What a message is about; the worker composes each kind in its own words."""

    ORDER_STATUS = "order_status"  # payload: order_id, status, previous, event_id
    MONEY_RETURNED = "money_returned"  # payload: order_id, amount, currency, returned
    STAFF_ANSWER = "staff_answer"  # payload: text
    STAFF_ALERT = "staff_alert"  # payload: event ("paid", "refund_failed", "text"), ...
    BROADCAST = "broadcast"  # payload: text (shop/broadcasts.py writes them)
    CART_REMINDER = "cart_reminder"  # payload: cart_at (the cart's change it reminds of)
    BACK_IN_STOCK = "back_in_stock"  # payload: product_id


# How far a sent message got, as platforms report it; news of less is news of nothing.
_PROGRESS = {"sent": 1, "delivered": 2, "read": 3, "undelivered": 4, "failed": 4}
_UNDELIVERED = frozenset({"undelivered", "failed"})


class Status(StrEnum):
    """Where a message is on its way."""

    PENDING = "pending"
    SENDING = "sending"  # a worker holds it until its lease runs out
    SENT = "sent"
    FAILED = "failed"  # the platform refused it for good; `error` says why


@dataclass(frozen=True, slots=True)
class Outbound:
    """A message as the worker claims it."""

    id: int
    kind: str
    customer_id: int | None
    channel: str
    address: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    urgency: Urgency
    broadcast_id: int | None = None  # the broadcast it is a copy of, if any

    @classmethod
    def from_row(cls, row: Any) -> Outbound:
        """Build from a row with at least these columns."""
        return cls(
            row.id,
            row.kind,
            row.customer_id,
            row.channel,
            row.address,
            row.payload,
            row.attempts,
            row.created_at,
            Urgency(row.priority),
            row.broadcast_id,
        )


def to_customer(
    conn: Connection,
    customer_id: int,
    kind: Kind,
    payload: dict[str, Any],
    now: datetime,
    *,
    due: datetime | None = None,
) -> None:
    """Queue a message for a customer, on the channel and at the address they use.

    It goes as soon as it can, or not before `due` (a reminder in an hour).
    """
    who = conn.execute(
        select(t.customer.c.channel, t.customer.c.external_id).where(t.customer.c.id == customer_id)
    ).first()
    if who is None:
        raise NotFoundError("customer", customer_id)
    _insert(
        conn,
        now,
        due=due,
        kind=kind,
        customer_id=customer_id,
        channel=who.channel,
        address=who.external_id,
        payload=payload,
    )


def to_reachable(
    conn: Connection, kind: Kind, messages: Sequence[tuple[int, dict[str, Any]]], now: datetime
) -> int:
    """Queue `kind` with each (customer id, payload) whose customer the shop can reach; return how many.

    They go after replies and pushes, as broadcasts do; customers who blocked the bot are left out.
    """
    c = t.customer.c
    wanted = {customer_id for customer_id, _ in messages}
    found = conn.execute(
        select(c.id, c.channel, c.external_id).where(c.id.in_(wanted), c.unreachable_at.is_(None))
    ).all()
    where = {row.id: row for row in found}
    rows = [
        _unasked(now, kind, where[customer_id], payload)
        for customer_id, payload in messages
        if customer_id in where
    ]
    if rows:
        conn.execute(o.insert(), rows)
    return len(rows)


def to_audience(
    conn: Connection, broadcast_id: int, recipients: Sequence[Any], text: str, now: datetime
) -> None:
    """Queue a broadcast's `text` for `recipients` (rows of id, channel and external_id).

    After everything more urgent. A recipient who already has this broadcast's message
    (its audience written again after a crash) gets no second one.
    """
    if not recipients:
        return
    payload = {"text": text}
    rows = [
        _unasked(now, Kind.BROADCAST, row, payload, broadcast_id=broadcast_id) for row in recipients
    ]
    statement = insert_for(conn, o).on_conflict_do_nothing(
        index_elements=["broadcast_id", "customer_id"]
    )
    conn.execute(statement, rows)


def _unasked(
    now: datetime, kind: Kind, customer: Any, payload: dict[str, Any], **values: Any
) -> dict[str, Any]:
    """Return the row of what the shop says unasked to `customer` (a row of id, channel, external_id).

    It goes after replies and pushes.
    """
    return _new(
        now,
        urgency=Urgency.BROADCAST,
        kind=kind,
        customer_id=customer.id,
        channel=customer.channel,
        address=customer.external_id,
        payload=payload,
        **values,
    )


def to_staff(conn: Connection, kind: Kind, payload: dict[str, Any], now: datetime) -> None:
    """Queue a message for every staff member (the worker knows who they are)."""
    _insert(conn, now, kind=kind, customer_id=None, channel=STAFF, address="", payload=payload)


def _insert(conn: Connection, now: datetime, *, due: datetime | None = None, **values: Any) -> None:
    conn.execute(o.insert().values(**_new(now, due=due, **values)))


def _new(
    now: datetime,
    *,
    due: datetime | None = None,
    urgency: Urgency = Urgency.PUSH,
    **values: Any,
) -> dict[str, Any]:
    """Return the row of a new message: waiting, due `due` (else now), `values` besides."""
    return {
        "priority": urgency,
        "status": Status.PENDING,
        "attempts": 0,
        "due_at": due or now,
        "created_at": now,
        **values,
    }


class OutboxService:
    """The delivery worker's side of the queue: claim, then sent, retry later, or failed."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def alert_staff(self, text: str) -> None:
        """Queue an alert for every staff member."""
        now = self._clock()

        def work(conn: Connection) -> None:
            to_staff(conn, Kind.STAFF_ALERT, {"event": "text", "text": text}, now)

        await self._db.write(work)

    async def claim(
        self, channels: Iterable[str], *, limit: int, lease: timedelta
    ) -> list[Outbound]:
        """Take up to `limit` due messages for `channels`, most urgent first, for `lease`.

        Due: waiting and due now, or claimed by a worker whose lease ran out (it died).
        Concurrent workers on PostgreSQL skip each other's rows instead of waiting.
        """
        now = self._clock()
        wanted = sorted(set(channels))

        def work(conn: Connection) -> list[Outbound]:
            due = (
                select(o.c.id)
                .where(
                    o.c.channel.in_(wanted),
                    ((o.c.status == Status.PENDING) & (o.c.due_at <= now))
                    | ((o.c.status == Status.SENDING) & (o.c.lease_until <= now)),
                )
                .order_by(o.c.priority, o.c.due_at, o.c.id)
                .limit(limit)
            )
            rows = claim(
                conn,
                o,
                due,
                status=Status.SENDING,
                lease_until=now + lease,
                attempts=o.c.attempts + 1,
            )
            return [Outbound.from_row(row) for row in rows]

        return await self._db.write(work)

    async def fan_out(self, message: Outbound, recipients: Sequence[tuple[str, str]]) -> None:
        """Turn a message for every staff member into one per (channel, address), in one step."""
        now = self._clock()

        def work(conn: Connection) -> None:
            for channel, address in recipients:
                _insert(
                    conn,
                    now,
                    kind=message.kind,
                    customer_id=None,
                    channel=channel,
                    address=address,
                    payload=message.payload,
                )
            conn.execute(
                update(o)
                .where(o.c.id == message.id, o.c.status == Status.SENDING)
                .values(status=Status.SENT, sent_at=now, lease_until=None)
            )

        await self._db.write(work)

    async def sent(self, message: Outbound, refs: Sequence[str] = ()) -> None:
        """Record a message as sent: it never goes again; `refs` are the platform's ids of it.

        A broadcast's copy records on its customer that the broadcast reached them, and when.
        """
        now = self._clock()
        reached = message.broadcast_id is not None and message.customer_id is not None

        def work(conn: Connection) -> None:
            conn.execute(
                update(o)
                .where(o.c.id == message.id)
                .values(status=Status.SENT, sent_at=now, lease_until=None, error=None)
            )
            if reached:
                conn.execute(
                    _REACHED,
                    {"customer": message.customer_id, "broadcast": message.broadcast_id, "at": now},
                )
            if refs:
                conn.execute(
                    insert_for(conn, r).on_conflict_do_nothing(index_elements=["channel", "ref"]),
                    [
                        {
                            "channel": message.channel,
                            "ref": ref,
                            "outbound_id": message.id,
                            "status": Status.SENT.value,
                            "updated_at": now,
                        }
                        for ref in refs
                    ],
                )

        await self._db.write(work)

    async def reported(self, channel: str, ref: str, status: str, error: str | None) -> bool:
        """Take the platform's news of a sent message; return whether `ref` is one of ours.

        News arrives in any order: a status never goes back (delivered after read
        stays read). A message the platform could not deliver is recorded as failed
        with the platform's reason, for staff to see.
        """
        now = self._clock()
        rank = _PROGRESS.get(status)
        if rank is None:  # queued, accepted, sending: nothing the shop did not know
            return False

        def work(conn: Connection) -> bool:
            row = conn.execute(
                select(r.c.outbound_id, r.c.status).where(r.c.channel == channel, r.c.ref == ref)
            ).first()
            if row is None:
                return False
            if rank <= _PROGRESS.get(row.status, 0):
                return True
            conn.execute(
                update(r)
                .where(r.c.channel == channel, r.c.ref == ref)
                .values(status=status, error=error, updated_at=now)
            )
            if status in _UNDELIVERED:
                conn.execute(
                    update(o)
                    .where(o.c.id == row.outbound_id)
                    .values(status=Status.FAILED, error=(error or status)[:500])
                )
            return True

        return await self._db.write(work)

    async def retry(self, message_id: int, after: timedelta, error: str) -> None:
        """Put a message back in the queue, due again after `after`."""
        now = self._clock()
        await self._set(
            message_id,
            status=Status.PENDING,
            due_at=now + after,
            lease_until=None,
            error=error[:500],
        )

    async def failed(self, message: Outbound, error: str, *, unreachable: bool = False) -> None:
        """Record that the platform refused a message for good; with `unreachable`, its customer too."""
        now = self._clock()

        def work(conn: Connection) -> None:
            conn.execute(
                update(o)
                .where(o.c.id == message.id)
                .values(status=Status.FAILED, lease_until=None, error=error[:500])
            )
            if unreachable and message.customer_id is not None:
                conn.execute(
                    update(t.customer)
                    .where(t.customer.c.id == message.customer_id)
                    .values(unreachable_at=now)
                )

        await self._db.write(work)

    async def _set(self, message_id: int, **values: Any) -> None:
        def work(conn: Connection) -> None:
            conn.execute(update(o).where(o.c.id == message_id).values(**values))

        await self._db.write(work)
