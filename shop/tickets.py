"""Tickets: customers' questions to the staff, kept with the one answer each gets.

A ticket is stored when the customer asks, and queued for every staff member in
the same transaction (shop/outbox.py), so a question is never lost between the
two. Each copy shown to a staff member is recorded by where it was shown (a chat
and a message in it), so a reply to that message finds its ticket without reading
anything back from the text. The first answer is the ticket's answer, queued for
the customer in the same transaction, so it is recorded and sent, or neither.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from shop import outbox
from shop import tables as t
from shop.db import Database
from shop.errors import NotFoundError, ShopError
from shop.plaintext import clean
from shop.types import utcnow

_ticket = t.ticket.c
_shown = t.ticket_message.c


@dataclass(frozen=True, slots=True)
class TicketView:
    """A customer's question as asked, and its answer once given."""

    id: int
    customer_id: int
    channel: str
    name: str
    locale: str
    text: str
    created_at: datetime
    answered_at: datetime | None
    answered_by: str | None
    answer: str | None

    @classmethod
    def from_row(cls, row: Any) -> TicketView:
        """Build from a result row that selected every ticket column."""
        return cls(**row._mapping)


class TicketAnsweredError(ShopError):
    """An answer to a ticket that has one already (the first answer stands)."""

    def __init__(self, ticket: TicketView) -> None:
        super().__init__(f"ticket {ticket.id} was answered by {ticket.answered_by} already")
        self.ticket = ticket


class TicketService:
    """Opens tickets, remembers where staff were shown them, and records their answers."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def open(
        self, customer_id: int, *, channel: str, name: str, locale: str, text: str
    ) -> TicketView:
        """Store a customer's question, queue it for every staff member, and return it as a ticket."""
        now = self._clock()
        values: dict[str, Any] = {
            "customer_id": customer_id,
            "channel": channel,
            "name": name,
            "locale": locale,
            "text": text,
            "created_at": now,
            "answered_at": None,
            "answered_by": None,
            "answer": None,
        }

        def work(conn: Connection) -> int:
            ticket_id = int(
                conn.execute(t.ticket.insert().returning(_ticket.id), values).scalar_one()
            )
            alert = {"event": "ticket", "ticket_id": ticket_id}
            outbox.to_staff(conn, outbox.Kind.STAFF_ALERT, alert, now)
            return ticket_id

        return TicketView(id=await self._db.write(work), **values)

    async def get(self, ticket_id: int) -> TicketView:
        """Return a ticket.

        Raises:
            NotFoundError: no such ticket.
        """

        def work(conn: Connection) -> Any:
            return conn.execute(select(t.ticket).where(_ticket.id == ticket_id)).first()

        row = await self._db.read(work)
        if row is None:
            raise NotFoundError("ticket", ticket_id)
        return TicketView.from_row(row)

    async def shown(self, ticket_id: int, places: Sequence[tuple[int, int]]) -> None:
        """Remember the (chat, message) pairs where staff were shown the ticket."""
        if not places:
            return
        rows = [
            {"chat_id": chat, "message_id": message, "ticket_id": ticket_id}
            for chat, message in places
        ]

        def work(conn: Connection) -> None:
            conn.execute(t.ticket_message.insert(), rows)

        await self._db.write(work)

    async def shown_at(self, chat_id: int, message_id: int) -> TicketView | None:
        """Return the ticket shown as this message in this chat, if it is one."""
        query = (
            select(t.ticket)
            .join(t.ticket_message, _shown.ticket_id == _ticket.id)
            .where(_shown.chat_id == chat_id, _shown.message_id == message_id)
        )

        def work(conn: Connection) -> TicketView | None:
            row = conn.execute(query).first()
            return None if row is None else TicketView.from_row(row)

        return await self._db.read(work)

    async def answer(self, ticket_id: int, *, by: str, text: str) -> TicketView:
        """Record the answer of `by` (an actor such as ``staff:tg:42``) to a ticket, and queue it for the customer.

        Returns the answered ticket.

        Raises:
            NotFoundError: no such ticket.
            TicketAnsweredError: it has an answer already (the first one stands).
        """
        now = self._clock()
        answer = clean(text, multiline=True)
        values = {"answered_at": now, "answered_by": by, "answer": answer}

        def work(conn: Connection) -> tuple[bool, Any]:
            # One conditional UPDATE: of two staff answering at once, exactly one wins.
            won = conn.execute(
                update(t.ticket)
                .where(_ticket.id == ticket_id, _ticket.answered_at.is_(None))
                .values(**values)
            ).rowcount
            row = conn.execute(select(t.ticket).where(_ticket.id == ticket_id)).first()
            if won and row is not None:
                payload = {"text": answer}
                outbox.to_customer(conn, row.customer_id, outbox.Kind.STAFF_ANSWER, payload, now)
            return bool(won), row

        won, row = await self._db.write(work)
        if row is None:
            raise NotFoundError("ticket", ticket_id)
        ticket = TicketView.from_row(row)
        if not won:
            raise TicketAnsweredError(ticket)
        return ticket
