"""Visits, the funnel's first step: a conversation begun by /start, a scan, or any other message.

/start (a scan, a greeting) records its own visit in the start flow. Anything else
(a typed search, a button of an old message) begins a visit when it is the
customer's first event, or their first after `shop.analytics.VISIT_GAP` of quiet
since their last visit began. The visit keeps the source the customer last came
from: a return without a code still credits the poster that brought them.

A broadcast that reached the customer since their visit began, within
`shop.broadcasts.CREDIT_WINDOW`, begins a new visit credited to it at their next
message ("broadcast-<id>"); a /start with a code of a source of its own credits that
source instead. The customer is read as the engine has them (`CustomerService.touch`),
which costs nothing more: a process keeping customers in memory reads one again after
its own delivery worker sent them a broadcast (bot/delivery.py forgets its copy), and
anyway once their copy is older than `shop.customers.SEEN_PRECISION`. So a broadcast
sent by another process (`chatshop worker`) is seen within that minute; with Redis,
every message reads the customer afresh.
"""

from __future__ import annotations

from datetime import datetime

from bot.flows.context import Ctx
from bot.flows.types import Command, Event
from shop.analytics import EventKind

KEY = "visit_at"  # in the conversation state: when the current visit began (ISO 8601)


def mark(ctx: Ctx, at: datetime) -> None:
    """Remember that a visit began at `at`."""
    ctx.state.data[KEY] = at.isoformat()


async def begin(ctx: Ctx, event: Event) -> None:
    """Record a visit for an event that opens a conversation other than through /start."""
    if isinstance(event, Command) and event.name.lower() == "start":
        return  # the start flow records it, with the code's source
    if credit_broadcast(ctx):
        mark(ctx, await ctx.record(EventKind.VISIT))
        return
    began = await ctx.shop.analytics.visit(ctx.visit, _last(ctx))
    if began is not None:
        mark(ctx, began)


def credit_broadcast(ctx: Ctx) -> bool:
    """Make a broadcast that brought the customer back the source of a visit beginning now, if one did."""
    source = ctx.shop.broadcasts.credit(ctx.customer, _last(ctx))
    if source is not None:
        ctx.state.data["source"] = source
    return source is not None


def _last(ctx: Ctx) -> datetime | None:
    """Return when the customer's current visit began, if the state knows."""
    value = ctx.state.data.get(KEY)
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # written by something else: start afresh
        return None
