"""Inbound messages kept from the webhook's answer until they are handled and answered, each once.

A channel whose platform delivers messages by webhook and takes the answer as
"received" (Twilio) writes each message here before answering: a duplicate
delivery finds its platform id taken and is answered without being handled again,
and a message whose process died before handling it is taken up by the next one
(`lapsed`) once its lease runs out; one handled already comes with its replies, to
be sent, not handled again. Several processes share the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.db import Database
from shop.sql import claim, insert_new
from shop.types import utcnow

i = t.inbound_message
PENDING = "pending"  # not handled yet
ANSWERED = "answered"  # handled; its replies are being sent
DONE = "done"

# Built once: a webhook keeps a message, and its handler updates it, on every message.
_RENEW = (
    update(i)
    .where(
        i.c.id == bindparam("row"),
        i.c.status.in_((PENDING, ANSWERED)),
        i.c.attempts == bindparam("claims"),  # nobody claimed it since
    )
    .values(lease_until=bindparam("until"))
)
_ANSWERED = (
    update(i)
    .where(i.c.id == bindparam("row"))
    .values(status=ANSWERED, answer=bindparam("replies"), answered_at=bindparam("at"))
)
_DONE = (
    update(i).where(i.c.id == bindparam("row")).values(status=DONE, lease_until=None, answer=None)
)


@dataclass(frozen=True, slots=True)
class Inbound:
    """A kept message: its row, the customer's id on the channel, and what the webhook said."""

    id: int
    sender: str
    payload: dict[str, Any]
    attempts: int
    answer: list[Any] | None = None  # the replies to send, once handled
    lease_until: datetime | None = None  # when the claim this process holds runs out
    answered_at: datetime | None = None  # when it was handled (its replies may have gone since)


class InboxService:
    """Keeps inbound messages until they are handled, and hands out those a dead process left."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def receive(
        self, channel: str, ref: str, sender: str, payload: dict[str, Any], *, lease: timedelta
    ) -> Inbound | None:
        """Keep a message for the receiving process to handle within `lease`; None if already kept."""
        now = self._clock()
        values = {
            "channel": channel,
            "ref": ref,
            "sender": sender,
            "payload": payload,
            "answer": None,
            "status": PENDING,
            "attempts": 1,
            "received_at": now,
            "lease_until": now + lease,
        }

        def work(conn: Connection) -> Inbound | None:
            row = conn.execute(insert_new(conn, i, ("channel", "ref")), values).first()
            return None if row is None else Inbound(row.id, sender, payload, 1, None, now + lease)

        return await self._db.write(work)

    async def renew(self, inbound: Inbound, *, lease: timedelta) -> bool:
        """Hold a message for another `lease` as its handler begins; False if another process took it.

        A claim with half of `lease` or more to run is held as it is: only a claim
        that ran out can be taken, so nobody took it, and nothing need be written.
        """
        now = self._clock()
        if inbound.lease_until is not None and inbound.lease_until - now >= lease / 2:
            return True
        values = {"row": inbound.id, "claims": inbound.attempts, "until": now + lease}

        def work(conn: Connection) -> bool:
            return bool(conn.execute(_RENEW, values).rowcount)

        return await self._db.write(work)

    async def answered(self, inbound_id: int, answer: list[Any]) -> None:
        """Record a message as handled, with its replies: it is never handled again, they are sent."""
        now = self._clock()

        def work(conn: Connection) -> None:
            conn.execute(_ANSWERED, {"row": inbound_id, "replies": answer, "at": now})

        await self._db.write(work)

    async def done(self, inbound_id: int) -> None:
        """Record a message's replies as sent: nothing more is done about it."""

        def work(conn: Connection) -> None:
            conn.execute(_DONE, {"row": inbound_id})

        await self._db.write(work)

    async def lapsed(self, channel: str, *, limit: int, lease: timedelta) -> list[Inbound]:
        """Take up to `limit` messages whose handler's lease ran out (it died), oldest first."""
        now = self._clock()

        def work(conn: Connection) -> list[Inbound]:
            due = (
                select(i.c.id)
                .where(
                    i.c.channel == channel,
                    i.c.status.in_((PENDING, ANSWERED)),
                    i.c.lease_until <= now,
                )
                .order_by(i.c.id)
                .limit(limit)
            )
            rows = claim(conn, i, due, lease_until=now + lease, attempts=i.c.attempts + 1)
            return [
                Inbound(
                    row.id,
                    row.sender,
                    row.payload,
                    row.attempts,
                    row.answer,
                    now + lease,
                    row.answered_at,
                )
                for row in rows
            ]

        return await self._db.write(work)

    async def forget(self, older_than: timedelta) -> int:
        """Delete handled messages received longer ago than `older_than`; return how many.

        A platform repeats a delivery for minutes at most, so ids need not be kept for ever.
        """
        before = self._clock() - older_than

        def work(conn: Connection) -> int:
            result = conn.execute(delete(i).where(i.c.status == DONE, i.c.received_at < before))
            return int(result.rowcount)

        return await self._db.write(work)
