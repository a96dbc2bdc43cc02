"""Broadcasts: one message from staff to a segment of customers, queued so that each gets it once.

`create` records the broadcast and fixes its audience to the customers who exist
then; `write` queues their messages in the outbox (shop/outbox.py) a batch per
transaction, each batch with the mark of how far it got. A process killed while
writing leaves a broadcast "preparing"; `write` again (`chatshop broadcast resume`)
goes on from the mark, and the outbox's unique (broadcast, customer) keeps even a
batch written twice to one message each. The delivery worker sends them after
everything more urgent, within each platform's limits; how far it got is counted
from the messages themselves.

Credit. When the worker has sent a customer their copy, it records on them which
broadcast reached them and when (shop/outbox.py `sent`, in the same transaction): on
the identity it reached, one row by its key (a person's reply on another channel of
theirs is not credited; writing every identity would need the persons' lock). A
customer who writes within `CREDIT_WINDOW` after that, and has begun no visit since,
begins a visit whose source is "broadcast-<id>" (`BroadcastService.credit`, asked by
bot/flows/visits.py); the visit's later events carry it, as they carry a poster's, so
the funnel report shows what the broadcast led to. A scanned code with a source of its
own wins over the broadcast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from shop import outbox
from shop import tables as t
from shop.audience import AudienceSize, Segment, reachable, sizes
from shop.db import Database
from shop.errors import NotFoundError, ShopError
from shop.models import Channel
from shop.outbox import Status
from shop.plaintext import clean
from shop.types import utcnow
from shop.views import CustomerView

b = t.broadcast.c
o = t.outbound_message.c
BATCH = 500  # recipients queued in one transaction
TEXT_WIDTH = 4096  # no messenger sends more in one message
# How long after a broadcast reached a customer a visit of theirs is credited to it: a day,
# as WhatsApp's session window and the usual one-day window of ad platforms; a reply later
# than that owes more to the customer than to the broadcast.
CREDIT_WINDOW = timedelta(hours=24)


class State(StrEnum):
    """How far a broadcast is."""

    PREPARING = "preparing"  # its audience is being written (or was, by a process that died)
    SENDING = "sending"  # every message is queued; some are not sent yet
    DONE = "done"  # every message is sent or failed


class NobodyError(ShopError):
    """A broadcast no customer may receive: nothing is sent."""


@dataclass(frozen=True, slots=True)
class BroadcastStatus:
    """A broadcast and what became of its messages."""

    id: int
    text: str
    segment: str
    channel: str | None
    state: State
    total: int  # messages queued
    sent: int
    failed: int  # refused for good: a blocked bot, WhatsApp's window without a template, ...
    pending: int  # not sent yet

    def to_json(self) -> dict[str, Any]:
        """Return the broadcast as `chatshop broadcast status --json` gives it (design.md)."""
        return {
            "id": self.id,
            "text": self.text,
            "segment": self.segment,
            "channel": self.channel,
            "state": self.state.value,
            "total": self.total,
            "sent": self.sent,
            "failed": self.failed,
            "pending": self.pending,
        }


def source_of(broadcast_id: int) -> str:
    """Return the funnel source of the visits a broadcast brings: "broadcast-<id>"."""
    return f"broadcast-{broadcast_id}"


class BroadcastService:
    """Records broadcasts, queues their messages once each, and tells how far they got."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    def credit(self, customer: CustomerView, visit_began: datetime | None) -> str | None:
        """Return the source to credit a visit the customer begins now with, if a broadcast brought them.

        A broadcast brought them if it reached them under `CREDIT_WINDOW` ago and they
        began no visit since (`visit_began`: when their current visit began, if known).
        """
        broadcast_id, reached = customer.last_broadcast_id, customer.last_broadcast_at
        if broadcast_id is None or reached is None or self._clock() - reached >= CREDIT_WINDOW:
            return None
        if visit_began is not None and visit_began >= reached:
            return None  # already back since: that visit has its own source
        return source_of(broadcast_id)

    async def sizes(self, segment: Segment, channel: Channel | None) -> list[AudienceSize]:
        """Count who a broadcast to `segment` on `channel` would reach now, per channel."""
        now = self._clock()
        return await self._db.read(lambda conn: sizes(conn, segment, channel, now))

    async def create(self, text: str, segment: Segment, channel: Channel | None) -> int:
        """Record a broadcast to the customers who exist now; return its id (nothing is queued yet).

        Raises:
            ShopError: the text is empty or too long, the segment names nothing,
                or no customer in it may receive the broadcast.
        """
        text = clean(text, multiline=True).strip()  # escape codes reach no customer's screen
        if not text:
            raise ShopError("the text is empty")
        if len(text) > TEXT_WIDTH:
            raise ShopError(f"the text is {len(text)} characters long; at most {TEXT_WIDTH}")
        now = self._clock()

        def work(conn: Connection) -> int:
            segment.check(conn)
            upto = conn.execute(
                select(func.max(t.customer.c.id)).where(*reachable(segment, channel))
            ).scalar()
            if upto is None:
                raise NobodyError(
                    f"no customer in segment {segment} may receive broadcasts"
                    + (f" on {channel}" if channel else "")
                    + "; nothing was sent"
                )
            values = {
                "text": text,
                "segment": str(segment),
                "channel": channel.value if channel else None,
                "state": State.PREPARING.value,
                "audience_upto": upto,
                "written_upto": 0,
                "created_at": now,
            }
            return int(
                conn.execute(t.broadcast.insert().values(values).returning(b.id)).scalar_one()
            )

        return await self._db.write(work)

    async def left_to_write(self, broadcast_id: int) -> int:
        """Return how many of a broadcast's recipients are not queued yet."""

        def work(conn: Connection) -> int:
            row = _broadcast(conn, broadcast_id)
            if row.state != State.PREPARING:
                return 0
            return int(
                conn.execute(
                    select(func.count()).where(*_unwritten(row, row.written_upto))
                ).scalar_one()
            )

        return await self._db.read(work)

    async def write(
        self, broadcast_id: int, progress: Callable[[int], None] = lambda _: None
    ) -> None:
        """Queue every recipient's message not queued yet, a batch per transaction.

        `progress` is told how many each batch queued.
        """
        while True:
            queued, done = await self.write_batch(broadcast_id)
            progress(queued)
            if done:
                return

    async def write_batch(self, broadcast_id: int) -> tuple[int, bool]:
        """Queue the next batch of recipients and mark how far it got, at once; return (how many, whether done)."""
        now = self._clock()

        def work(conn: Connection) -> tuple[int, bool]:
            # Locked on PostgreSQL: two `resume`s at once write one batch after the other.
            row = _broadcast(conn, broadcast_id, lock=True)
            if row.state != State.PREPARING:
                return 0, True
            c = t.customer.c
            recipients = conn.execute(
                select(c.id, c.channel, c.external_id)
                .where(*_unwritten(row, row.written_upto))
                .order_by(c.id)
                .limit(BATCH)
            ).all()
            outbox.to_audience(conn, broadcast_id, recipients, row.text, now)
            done = len(recipients) < BATCH
            mark: dict[str, Any] = {"written_upto": recipients[-1].id if recipients else 0}
            if done:
                mark = {"written_upto": row.audience_upto, "state": State.SENDING.value}
            conn.execute(update(t.broadcast).where(b.id == broadcast_id).values(mark))
            return len(recipients), done

        return await self._db.write(work)

    async def status(self, broadcast_id: int) -> BroadcastStatus:
        """Return one broadcast and its messages' counts."""
        found = await self._statuses(b.id == broadcast_id)
        if not found:
            raise NotFoundError("broadcast", broadcast_id)
        return found[0]

    async def all(self) -> list[BroadcastStatus]:
        """Return every broadcast, the newest first."""
        return await self._statuses(None)

    async def _statuses(self, where: Any) -> list[BroadcastStatus]:
        def work(conn: Connection) -> list[BroadcastStatus]:
            query = select(t.broadcast).order_by(b.id.desc())
            broadcasts = conn.execute(query if where is None else query.where(where)).all()
            counts = select(o.broadcast_id, o.status, func.count()).group_by(
                o.broadcast_id, o.status
            )
            if where is not None:
                counts = counts.where(o.broadcast_id.in_([row.id for row in broadcasts]))
            by_status: dict[int, dict[str, int]] = {}
            for broadcast_id, status, count in conn.execute(
                counts.where(o.broadcast_id.is_not(None))
            ):
                by_status.setdefault(broadcast_id, {})[status] = count
            return [_status(row, by_status.get(row.id, {})) for row in broadcasts]

        return await self._db.read(work)


def _broadcast(conn: Connection, broadcast_id: int, *, lock: bool = False) -> Any:
    """Return a broadcast's row; raise NotFoundError without one."""
    query = select(t.broadcast).where(b.id == broadcast_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFoundError("broadcast", broadcast_id)
    return row


def _unwritten(row: Any, after: int) -> list[Any]:
    """Return the conditions on `customer` rows for a broadcast's recipients past customer id `after`."""
    c = t.customer.c
    channel = Channel(row.channel) if row.channel else None
    segment = Segment.parse(row.segment)
    return [*reachable(segment, channel), c.id > after, c.id <= row.audience_upto]


def _status(row: Any, counts: dict[str, int]) -> BroadcastStatus:
    """Return a broadcast's status from its row and its messages' counts by status."""
    sent = counts.get(Status.SENT, 0)
    failed = counts.get(Status.FAILED, 0)
    pending = counts.get(Status.PENDING, 0) + counts.get(Status.SENDING, 0)
    state = State.PREPARING if row.state == State.PREPARING else State.SENDING
    if state is State.SENDING and not pending:
        state = State.DONE
    return BroadcastStatus(
        row.id,
        row.text,
        row.segment,
        row.channel,
        state,
        sent + failed + pending,
        sent,
        failed,
        pending,
    )
