"""Visits, the funnel's first step: a conversation begun by /start, a scan, or any other message.

/start (a scan, a greeting) records its own visit in the start flow. Anything else
(a typed search, a button of an old message) begins a visit when it is the
customer's first event, or their first after `shop.analytics.VISIT_GAP` of quiet
since their last visit began. The visit keeps the source the customer last came
from: a return without a code still credits the poster that brought them.
"""

from __future__ import annotations

from datetime import datetime

from bot.flows.context import Ctx
from bot.flows.types import Command, Event

KEY = "visit_at"  # in the conversation state: when the current visit began (ISO 8601)


def mark(ctx: Ctx, at: datetime) -> None:
    """Remember that a visit began at `at`."""
    ctx.state.data[KEY] = at.isoformat()


async def begin(ctx: Ctx, event: Event) -> None:
    """Record a visit for an event that opens a conversation other than through /start."""
    if isinstance(event, Command) and event.name.lower() == "start":
        return  # the start flow records it, with the code's source
    began = await ctx.shop.analytics.visit(ctx.visit, _last(ctx))
    if began is not None:
        mark(ctx, began)


def _last(ctx: Ctx) -> datetime | None:
    """Return when the customer's current visit began, if the state knows."""
    value = ctx.state.data.get(KEY)
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # written by something else: start afresh
        return None
