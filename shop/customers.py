"""Customers: one identity per channel, with locale, consent, first touch and last message time.

Identities that proved one phone number are one person (shop/persons.py): their
language and consent are written through to each of them alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection

from shop import analytics, persons
from shop import tables as t
from shop.db import Database
from shop.errors import NotFoundError
from shop.models import Channel
from shop.plaintext import clean
from shop.recent import Recent
from shop.sql import insert_for
from shop.types import utcnow
from shop.views import CustomerView, PersonView

# WhatsApp lets a business write freely only within 24 hours of the customer's last message.
SESSION_WINDOW = timedelta(hours=24)
# How stale `last_inbound_at` may be: a customer tapping through the shop is found
# with a read, and written again only once a minute (far finer than the window).
SEEN_PRECISION = timedelta(minutes=1)

# Built once: every inbound message looks its customer up (shop/db.py says why).
_BY_ID = select(t.customer).where(t.customer.c.id == bindparam("id"))
_BY_IDENTITY = select(t.customer).where(
    t.customer.c.channel == bindparam("channel"),
    t.customer.c.external_id == bindparam("external_id"),
)


class CustomerService:
    """Finds or creates customers and keeps what we know about them.

    With `remember`, it keeps that many recently seen customers in memory, and
    `touch` answers from there while what it keeps is current by its own rule
    (seen within `SEEN_PRECISION`): a customer's next message costs no read. Its
    own changes, and orders (a checkout saves contact details), refresh them. For
    a shop served by one process only: another would change rows behind it.
    """

    def __init__(
        self, db: Database, clock: Callable[[], datetime] = utcnow, *, remember: int = 0
    ) -> None:
        self._db = db
        self._clock = clock
        self._recent: Recent[tuple[str, str], CustomerView] = Recent(remember)
        self._identity: dict[int, tuple[str, str]] = {}  # id -> key of `_recent`

    async def touch(
        self,
        channel: Channel,
        external_id: str,
        *,
        display_name: str = "",
        source: str | None = None,
        inbound: bool = True,
        phone: str | None = None,
    ) -> CustomerView:
        """Find or create the customer behind an inbound message.

        A `source` is kept only as the first touch: a later scan never overwrites it.
        A customer already known, and seen within `SEEN_PRECISION`, costs one read
        and no write; anyone else is created or updated in one statement. `phone` is
        a number the channel proves is theirs (their WhatsApp number), which joins
        them to whoever proved it before (see `prove_phone`).
        """
        now = self._clock()
        proved = persons.phone_key(phone) if phone else None
        known = self._recent.get((channel.value, external_id))
        if known is None:
            known = await self.find(channel, external_id)
        if (
            known is not None
            and (proved is None or known.phone == proved)
            and _up_to_date(known, now, display_name, source, inbound)
        ):
            self._keep(known)
            return known

        def work(conn: Connection) -> CustomerView:
            return touch_customer(
                conn,
                channel,
                external_id,
                now,
                display_name=display_name,
                source=source,
                inbound=inbound,
            )

        customer = await self._db.write(work)
        if proved is not None and customer.phone != proved:
            return await self.prove_phone(customer.id, proved)
        self._keep(customer)
        return customer

    async def prove_phone(self, customer_id: int, phone: str) -> CustomerView:
        """Record a number the channel proved is the customer's own, and return them as they are then.

        Whoever proved the same number on another channel becomes one person with
        them (shop/persons.py says how their language and consent are chosen). Only
        a channel's proof will do (WhatsApp's sender, a Telegram contact of the user
        themselves), never a number someone typed. One that is no E.164 number links nobody.
        """
        proved = persons.phone_key(phone)
        if proved is None:
            return await self.get(customer_id)

        def work(conn: Connection) -> tuple[list[int], Any]:
            changed = persons.prove_phone(conn, customer_id, proved)
            analytics.merge_reach(conn, changed)
            return changed, conn.execute(_BY_ID, {"id": customer_id}).one()

        changed, row = await self._db.write(work)
        self._forget_all(changed)
        return CustomerView.from_row(row)

    async def person_of(self, customer_id: int) -> int:
        """Return the person id of a customer: the same for each of their identities.

        It is the id of their oldest identity (their own id while they have one
        only), and may change once: when a younger person is joined to an older one.
        """
        return await self._db.read(lambda conn: persons.person_of(conn, customer_id))

    async def person(self, customer_id: int) -> PersonView:
        """Return the person a customer is, with every identity of theirs."""

        def work(conn: Connection) -> PersonView:
            found = persons.people(conn, [customer_id])
            if not found:
                raise NotFoundError("customer", customer_id)
            return next(iter(found.values()))

        return await self._db.read(work)

    async def get(self, customer_id: int) -> CustomerView:
        """Return a customer by id."""

        def work(conn: Connection) -> Any:
            return conn.execute(_BY_ID, {"id": customer_id}).first()

        row = await self._db.read(work)
        if row is None:
            raise NotFoundError("customer", customer_id)
        return CustomerView.from_row(row)

    async def find(self, channel: Channel, external_id: str) -> CustomerView | None:
        """Return the customer with this channel identity, if any."""
        values = {"channel": channel.value, "external_id": external_id}

        def work(conn: Connection) -> Any:
            return conn.execute(_BY_IDENTITY, values).first()

        row = await self._db.read(work)
        return CustomerView.from_row(row) if row else None

    async def all_people(self) -> list[PersonView]:
        """Return every customer as a person with their identities, by id (for staff: an export)."""

        def work(conn: Connection) -> list[PersonView]:
            return list(persons.people(conn).values())

        return await self._db.read(work, bulk=True)

    async def set_locale(self, customer_id: int, locale: str) -> None:
        """Remember the language the customer chose, and when: on every identity of theirs."""
        await self._write_shared(customer_id, locale=locale, locale_at=self._clock())

    async def set_marketing_consent(self, customer_id: int, consent: bool) -> None:
        """Record whether the customer agreed to marketing messages, and when: on every identity of theirs."""
        await self._write_shared(customer_id, marketing_consent=consent, consent_at=self._clock())

    async def save_contact(
        self, customer_id: int, *, name: str | None, phone: str | None, address: str | None
    ) -> None:
        """Remember contact and delivery details so the next checkout can offer them."""
        await self._update(
            customer_id, contact_name=name, contact_phone=phone, delivery_address=address
        )

    def can_message_freely(self, customer: CustomerView) -> bool:
        """Tell whether the customer wrote within the last 24 hours (WhatsApp's session window)."""
        last = customer.last_inbound_at
        return last is not None and self._clock() - last < SESSION_WINDOW

    def forget(self, customer_id: int) -> None:
        """Drop what is kept in memory of a customer: the next touch reads them again."""
        key = self._identity.pop(customer_id, None)
        if key is not None:
            self._recent.pop(key)

    def _forget_all(self, customer_ids: list[int]) -> None:
        for customer_id in customer_ids:
            self.forget(customer_id)

    async def _write_shared(self, customer_id: int, **values: object) -> None:
        """Write a person's shared fields to each of their identities (shop/persons.py)."""
        written = [customer_id]
        try:
            written = await self._db.write(
                lambda conn: persons.write_shared(conn, customer_id, **values)
            )
        finally:
            self._forget_all(written)

    def _keep(self, customer: CustomerView) -> None:
        """Remember a customer as just read or written, forgetting the least recent."""
        key = (customer.channel, customer.external_id)
        self._identity[customer.id] = key
        for dropped in self._recent.put(key, customer):
            del self._identity[dropped.id]

    async def _update(self, customer_id: int, **values: object) -> None:
        def work(conn: Connection) -> None:
            result = conn.execute(
                update(t.customer).where(t.customer.c.id == customer_id).values(**values)
            )
            if result.rowcount == 0:
                raise NotFoundError("customer", customer_id)

        try:
            await self._db.write(work)
        finally:
            self.forget(customer_id)


def _up_to_date(
    customer: CustomerView, now: datetime, display_name: str, source: str | None, inbound: bool
) -> bool:
    """Tell whether touching `customer` would change nothing worth a write."""
    if display_name and display_name != customer.display_name:
        return False
    if source is not None and customer.first_source is None:
        return False
    if inbound and customer.unreachable_at is not None:
        return False  # they write again: reachable again
    seen = customer.last_inbound_at
    return not inbound or (seen is not None and now - seen < SEEN_PRECISION)


def touch_customer(
    conn: Connection,
    channel: Channel,
    external_id: str,
    now: datetime,
    *,
    display_name: str = "",
    source: str | None = None,
    inbound: bool = True,
) -> CustomerView:
    """Find or create a customer inside the caller's transaction (see `CustomerService.touch`)."""
    display_name = clean(display_name)
    statement = insert_for(conn, t.customer).values(
        channel=channel.value,
        external_id=external_id,
        display_name=display_name,
        first_source=source,
        first_seen_at=now,
        last_inbound_at=now if inbound else None,
        marketing_consent=False,
    )
    excluded = statement.excluded
    changes: dict[str, Any] = {
        "first_source": func.coalesce(t.customer.c.first_source, excluded.first_source),
    }
    if display_name:
        changes["display_name"] = excluded.display_name
    if inbound:
        changes["last_inbound_at"] = excluded.last_inbound_at
        changes["unreachable_at"] = None
    row = conn.execute(
        statement.on_conflict_do_update(
            index_elements=["channel", "external_id"], set_=changes
        ).returning(*t.customer.c)
    ).one()
    return CustomerView.from_row(row)
