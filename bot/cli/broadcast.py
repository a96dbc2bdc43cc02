"""`chatshop broadcast ...`: a message to a segment of consenting customers, each getting it once.

`send` records the broadcast and queues its messages (never prompting: it is
scripted) and prints its id; the delivery worker of `chatshop run` (or
`chatshop worker`) sends them. `status` counts what became of them; `resume`
finishes queueing a broadcast whose `send` was killed on the way.
"""

from __future__ import annotations

import math
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import err, out, print_json, progress, shown, with_shop
from bot.services import Shop
from bot.settings import TwilioSettings
from shop.audience import SEGMENTS, AudienceSize, Segment
from shop.broadcasts import BroadcastStatus, State
from shop.models import Channel
from shop.money import format_money, minor_digits
from shop.outbox import Kind

broadcast_app = typer.Typer(
    help="Messages to many customers at once, to those who may receive them.",
    no_args_is_help=True,
)


class Messenger(StrEnum):
    """The channels a broadcast can go on."""

    TELEGRAM = Channel.TELEGRAM.value
    WHATSAPP = Channel.WHATSAPP.value


@broadcast_app.command("send")
def send(
    text: Annotated[str, typer.Option(help="The message, as customers will read it.")],
    segment: Annotated[str, typer.Option(help=f"Who gets it: {SEGMENTS}.")] = "all",
    channel: Annotated[
        Messenger | None, typer.Option(help="Only this channel [default: every channel].")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count the audience and the cost; send nothing.")
    ] = False,
) -> None:
    """Queue a message for every consenting customer of a segment; print the broadcast's id."""
    chosen = Segment.parse(segment)
    on = None if channel is None else Channel(channel.value)
    if dry_run:

        async def count(shop: Shop) -> tuple[list[AudienceSize], TwilioSettings]:
            return await shop.broadcasts.sizes(chosen, on), shop.settings.twilio

        _print_sizes(*with_shop(count))
        return

    async def work(shop: Shop) -> BroadcastStatus:
        broadcast_id = await shop.broadcasts.create(text, chosen, on)
        await _write(shop, broadcast_id)
        return await shop.broadcasts.status(broadcast_id)

    status = with_shop(work)
    out.print(status.id)
    err.print(f"Broadcast {status.id}: {_summary(status)}", highlight=False, soft_wrap=True)


@broadcast_app.command("status")
def status(
    broadcast_id: Annotated[
        int | None, typer.Argument(metavar="[ID]", help="One broadcast [default: every one].")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """Show what became of a broadcast's messages: sent, failed, pending."""

    async def work(shop: Shop) -> list[BroadcastStatus]:
        if broadcast_id is None:
            return await shop.broadcasts.all()
        return [await shop.broadcasts.status(broadcast_id)]

    found = with_shop(work)
    if as_json:
        print_json(found[0].to_json() if broadcast_id is not None else [s.to_json() for s in found])
        return
    if not found:
        out.print("No broadcasts yet.")
        return
    table = Table()
    for column in (
        "ID",
        "Segment",
        "Channel",
        "State",
        "Total",
        "Sent",
        "Failed",
        "Pending",
        "Text",
    ):
        table.add_column(column, justify="right" if column in _COUNTS else "left")
    for s in found:
        table.add_row(
            str(s.id),
            shown(s.segment),
            s.channel or "all",
            s.state.value,
            *(f"{n:,}" for n in (s.total, s.sent, s.failed, s.pending)),
            shown(s.text if len(s.text) <= 40 else s.text[:39] + "…"),
        )
    out.print(table)


_COUNTS = ("ID", "Total", "Sent", "Failed", "Pending")


@broadcast_app.command("resume")
def resume(broadcast_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Finish queueing a broadcast whose `send` stopped on the way (each recipient still once)."""

    async def work(shop: Shop) -> BroadcastStatus:
        await _write(shop, broadcast_id)
        return await shop.broadcasts.status(broadcast_id)

    found = with_shop(work)
    out.print(f"Broadcast {found.id}: {_summary(found)}", highlight=False, soft_wrap=True)


async def _write(shop: Shop, broadcast_id: int) -> None:
    """Queue a broadcast's messages not queued yet, with a progress bar."""
    left = await shop.broadcasts.left_to_write(broadcast_id)
    with progress() as bar:
        task = bar.add_task(f"Queueing broadcast {broadcast_id}", total=left)
        await shop.broadcasts.write(broadcast_id, lambda n: bar.advance(task, n))


def _summary(status: BroadcastStatus) -> str:
    """Return one line on how far a broadcast is."""
    counts = f"{status.total:,} messages: {status.sent:,} sent, {status.failed:,} failed, {status.pending:,} pending"
    if status.state is State.SENDING:
        return counts + "; `chatshop run` or `chatshop worker` sends them"
    return counts


def _print_sizes(sizes: list[AudienceSize], twilio: TwilioSettings) -> None:
    """Print who a broadcast would reach per channel, and what the platform would charge."""
    template = Kind.BROADCAST.value in twilio.templates
    total = 0
    for size in sizes:
        total += size.customers
        line = f"{size.channel}: {size.customers:,} customers"
        if size.channel == Channel.TELEGRAM:
            line += " (free)"
        elif not size.outside_window:
            line += " (all within the 24-hour window: free)"
        elif not template:
            line += (
                f"; {size.outside_window:,} outside the 24-hour window would not get it:"
                " TWILIO_TEMPLATES names no template for broadcast (they are recorded failed)"
            )
        else:
            line += f"; {size.outside_window:,} outside the 24-hour window get the template: "
            line += _cost(size.outside_window, twilio.marketing_price, twilio.marketing_currency)
        out.print(line, highlight=False, soft_wrap=True)
    out.print(
        f"In all: {total:,} customers. Dry run: nothing was sent.", highlight=False, soft_wrap=True
    )


def _cost(messages: int, price: Decimal | None, currency: str) -> str:
    """Return what `messages` marketing templates cost at `price` each, rounded up to a minor unit."""
    if price is None:
        return "price unknown (set TWILIO_MARKETING_PRICE)"
    minor = math.ceil(price * messages * 10 ** minor_digits(currency))
    return f"{format_money(minor, currency)} ({price} {currency} each)"
