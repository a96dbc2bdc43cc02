"""Who a broadcast reaches: a segment of the customers who may get marketing messages and can be reached.

A customer may get them while `customer.marketing_consent` is true (the one record
of consent: bot/flows/consent.py sets it) and the channel has not refused them
(`unreachable_at`, set when they blocked the bot). Segments narrow that down:

- `all`: everyone;
- `buyers`: customers with a paid order (paid, packed, shipped or delivered);
- `cart`: customers whose cart holds something;
- `source:NAME`: customers who first came from source NAME, or scanned its code since;
- `category:NAME`: buyers of a product of category NAME (its name in the catalog file).

A person on two channels (shop/persons.py) is one recipient: of their identities in
the audience, the one they wrote from last (the lower id if neither or both wrote at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.customers import SESSION_WINDOW
from shop.errors import ShopError
from shop.models import Channel
from shop.orders import PAID_STATUSES
from shop.persons import PERSON_ID

c = t.customer.c
# The channels a broadcast can go on: the terminal demo has nobody to push to.
MESSENGERS = (Channel.TELEGRAM, Channel.WHATSAPP)


class SegmentKind(StrEnum):
    """What a segment selects customers by."""

    ALL = "all"
    BUYERS = "buyers"
    CART = "cart"
    SOURCE = "source"
    CATEGORY = "category"


_NAMED = (SegmentKind.SOURCE, SegmentKind.CATEGORY)
SEGMENTS = "all, buyers, cart, source:NAME or category:NAME"


class SegmentError(ShopError):
    """A segment that is not one of the known ones, or names nothing."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A part of the customers: a kind, and the name a source or category segment needs."""

    kind: SegmentKind = SegmentKind.ALL
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> Segment:
        """Read "all", "buyers", "cart", "source:NAME" or "category:NAME"; raise SegmentError otherwise."""
        head, colon, name = text.strip().partition(":")
        try:
            kind = SegmentKind(head.strip().lower())
        except ValueError:
            raise SegmentError(f"segment {text!r}: use {SEGMENTS}") from None
        name = name.strip()
        if (kind in _NAMED) != bool(colon and name):
            raise SegmentError(f"segment {text!r}: use {SEGMENTS}")
        return cls(kind, name)

    def __str__(self) -> str:
        """Return the segment as staff write it."""
        return f"{self.kind}:{self.name}" if self.name else str(self.kind)

    def check(self, conn: Connection) -> None:
        """Raise SegmentError if the segment names a category the shop does not have."""
        if self.kind is not SegmentKind.CATEGORY:
            return
        found = conn.execute(select(t.category.c.id).where(t.category.c.name == self.name)).first()
        if found is None:
            names = conn.execute(select(t.category.c.name).order_by(t.category.c.name)).scalars()
            raise SegmentError(
                f"no category named {self.name!r}; the shop has: {', '.join(names) or 'none'}"
            )

    def condition(self) -> ColumnElement[bool]:
        """Return the condition on `customer` rows that selects this segment."""
        o, line = t.order.c, t.order_line.c
        paid = (o.customer_id == c.id) & o.status.in_(PAID_STATUSES)
        if self.kind is SegmentKind.BUYERS:
            return exists().where(paid)
        if self.kind is SegmentKind.CART:
            return exists().where(t.cart_item.c.customer_id == c.id)
        if self.kind is SegmentKind.SOURCE:
            e = t.analytics_event.c
            scanned = exists().where(e.customer_id == c.id, e.source == self.name)
            return (c.first_source == self.name) | scanned
        if self.kind is SegmentKind.CATEGORY:
            p, cat = t.product.c, t.category.c
            bought = (
                select(line.id)
                .join(t.order, o.id == line.order_id)
                .join(t.product, p.id == line.product_id)
                .join(t.category, cat.id == p.category_id)
                .where(paid, cat.name == self.name)
            )
            return bought.exists()
        return true()


def reachable(segment: Segment, channel: Channel | None) -> list[ColumnElement[bool]]:
    """Return the conditions on `customer` rows for a broadcast to `segment` on `channel` (None: all)."""
    channels = MESSENGERS if channel is None else (channel,)
    wanted = [
        c.marketing_consent.is_(True),
        c.unreachable_at.is_(None),
        c.channel.in_([ch.value for ch in channels]),
        segment.condition(),
    ]
    return [*wanted, ~_better_identity(wanted)]


def _better_identity(wanted: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """Return whether another identity of the customer's person is in the audience and preferred."""
    other = t.customer.alias("other")
    audience = select(c.id).where(*wanted).correlate(None)  # the whole audience, not this row
    last, theirs = c.last_inbound_at, other.c.last_inbound_at
    preferred = or_(
        theirs > last,
        and_(theirs.is_not(None), last.is_(None)),
        and_(or_(theirs == last, and_(theirs.is_(None), last.is_(None))), other.c.id < c.id),
    )
    return exists().where(
        or_(other.c.id == PERSON_ID, other.c.person_id == PERSON_ID),
        other.c.id != c.id,
        other.c.id.in_(audience),
        preferred,
    )


@dataclass(frozen=True, slots=True)
class AudienceSize:
    """How many customers of a channel a broadcast would reach, and how many of them only by template.

    `outside_window`: WhatsApp customers who have not written for 24 hours, whom only an
    approved template reaches (the platform charges for it); zero on other channels.
    """

    channel: str
    customers: int
    outside_window: int


def sizes(
    conn: Connection, segment: Segment, channel: Channel | None, now: datetime
) -> list[AudienceSize]:
    """Count a broadcast's audience per channel, by `now` (for a dry run)."""
    segment.check(conn)
    quiet = (c.channel == Channel.WHATSAPP.value) & (
        c.last_inbound_at.is_(None) | (c.last_inbound_at <= now - SESSION_WINDOW)
    )
    rows = conn.execute(
        select(c.channel, func.count(), func.count().filter(quiet))
        .where(*reachable(segment, channel))
        .group_by(c.channel)
    ).all()
    counted = {row[0]: AudienceSize(row[0], row[1], row[2]) for row in rows}
    channels = MESSENGERS if channel is None else (channel,)
    return [counted.get(ch.value, AudienceSize(ch.value, 0, 0)) for ch in channels]
