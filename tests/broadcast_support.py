"""Broadcasts as tests set them up: many customers who may receive them, and a broadcast queued to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from bot.services import Shop
from shop import tables as t
from shop.audience import Segment
from shop.broadcasts import BroadcastStatus
from shop.models import Channel
from shop.types import utcnow

EVERYONE = Segment()


async def add_customers(
    shop: Shop,
    channel: Channel,
    first: int,
    count: int,
    *,
    consent: bool = True,
    now: datetime | None = None,
) -> list[int]:
    """Add `count` customers of `channel` with ids first, first + 1, ... in one step; return their ids.

    With `consent`, they agreed to broadcasts as writing to the shop agrees (bot/flows/consent.py).
    """
    now = now or utcnow()
    rows = [
        {
            "channel": channel.value,
            "external_id": str(first + n),
            "display_name": f"Customer {n}",
            "marketing_consent": consent,
            "consent_at": now if consent else None,
            "first_seen_at": now,
            "last_inbound_at": now,
        }
        for n in range(count)
    ]

    def work(conn: Connection) -> list[int]:
        c = t.customer.c
        conn.execute(t.customer.insert(), rows)
        found = conn.execute(
            select(c.id)
            .where(c.channel == channel.value, c.external_id.in_([r["external_id"] for r in rows]))
            .order_by(c.id)
        )
        return list(found.scalars())

    return await shop.db.write(work)


async def queue_broadcast(
    shop: Shop, text: str, segment: Segment = EVERYONE, channel: Channel | None = None
) -> BroadcastStatus:
    """Send a broadcast as `chatshop broadcast send` does; return it as just queued."""
    broadcast_id = await shop.broadcasts.create(text, segment, channel)
    await shop.broadcasts.write(broadcast_id)
    return await shop.broadcasts.status(broadcast_id)
