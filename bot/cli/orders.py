"""`chatshop orders ...`: staff see orders and move them along from the command line, beside a running shop."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import CommandError, iso, out, print_json, shown, with_shop
from bot.services import Shop
from payments.interface import PaymentStatus
from shop.models import OrderStatus
from shop.money import format_money
from shop.plaintext import control_in
from shop.staff_views import StaffOrder, order_in_full, recent_orders
from shop.views import OrderView

orders_app = typer.Typer(help="Orders: see them and move them along.", no_args_is_help=True)
OrderId = Annotated[int, typer.Argument(help="The order's number.", min=1)]
ACTOR = "staff:cli"  # who made a change, in the order's timeline


class StaffStatus(StrEnum):
    """Where staff may move an order by hand (payment and refunds have their own ways)."""

    PACKED = OrderStatus.PACKED.value
    SHIPPED = OrderStatus.SHIPPED.value
    DELIVERED = OrderStatus.DELIVERED.value
    CANCELLED = OrderStatus.CANCELLED.value


@orders_app.command("list")
def list_orders(
    status: Annotated[OrderStatus | None, typer.Option(help="Only orders in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array on stdout.")] = False,
) -> None:
    """List the newest orders: status and since when, total, customer, channel (--json: timelines)."""

    async def work(shop: Shop) -> list[StaffOrder]:
        return await recent_orders(shop.db, status=status, limit=limit)

    found = with_shop(work)
    if as_json:
        print_json([_summary(each) for each in found])
        return
    if not found:
        out.print(f"No orders{f' {status.value}' if status else ''} yet.")
        return
    table = Table(title=f"Orders{f' {status.value}' if status else ''}, newest first")
    for column in ("#", "Status", "Since (UTC)", "Total", "Customer", "Channel"):
        right = column in {"#", "Total"}
        wraps = column in {"Customer", "Channel"}
        table.add_column(column, justify="right" if right else "left", no_wrap=not wraps)
    for each in found:
        order = each.order
        table.add_row(
            str(order.id),
            order.status,
            _time(each.timeline[-1].at if each.timeline else order.updated_at),
            format_money(order.total, order.currency),
            _customer(each),
            order.channel,
        )
    out.print(table)


@orders_app.command("show")
def show(
    order_id: OrderId,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Show one order: lines, totals, customer, channel, delivery, timeline and payments."""

    async def work(shop: Shop) -> StaffOrder:
        return await order_in_full(shop.db, order_id)

    found = with_shop(work)
    if as_json:
        print_json(_in_full(found))
        return
    _print(found)


@orders_app.command("set-status")
def set_status(
    order_id: OrderId,
    status: Annotated[StaffStatus, typer.Argument(help="Where the order goes now.")],
    tracking: Annotated[
        str | None,
        typer.Option(metavar="NUMBER", help="The parcel's tracking number (shipped needs it)."),
    ] = None,
    carrier: Annotated[
        str | None, typer.Option(metavar="NAME", help="Who delivers it (with shipped).")
    ] = None,
    note: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Kept in the order's timeline.")
    ] = None,
) -> None:
    """Move an order on: packed, shipped (with its tracking number), delivered, or cancelled (unpaid)."""
    tracking, carrier, note = (
        _typed(value, option)
        for value, option in ((tracking, "--tracking"), (carrier, "--carrier"), (note, "--note"))
    )
    shipped = status is StaffStatus.SHIPPED
    if shipped and tracking is None:
        raise CommandError("an order is shipped with its tracking number: add --tracking NUMBER")
    if not shipped and (tracking is not None or carrier is not None):
        raise CommandError("--tracking and --carrier go with shipped")

    async def work(shop: Shop) -> OrderView:
        return await shop.orders.transition(
            order_id,
            OrderStatus(status.value),
            actor=ACTOR,
            note=note,
            carrier=carrier,
            tracking_number=tracking,
        )

    order = with_shop(work)
    parcel = " ".join(part for part in (order.carrier, order.tracking_number) if part)
    out.print(f"Order #{order.id} is {order.status}{f': {shown(parcel)}' if shipped else ''}.")


@orders_app.command("refund")
def refund(
    order_id: OrderId,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why; kept in the order's timeline.")
    ] = None,
) -> None:
    """Give a paid order's money back at its payment provider and mark the order refunded."""

    async def work(shop: Shop) -> None:
        payment = await shop.payments.settlement.refund(order_id, actor=ACTOR, note=reason)
        amount = format_money(payment.amount, payment.currency)
        if payment.status == PaymentStatus.REFUNDED:
            out.print(f"Order #{order_id} is refunded: {amount} back through {payment.provider}.")
        else:
            out.print(
                f"Order #{order_id}: the refund of {amount} is asked of {payment.provider}, which "
                "has not confirmed it yet; the running shop tries again until it does."
            )

    with_shop(work)


def _typed(value: str | None, option: str) -> str | None:
    """Return what staff typed for the customer's timeline, trimmed; None if blank.

    Raises:
        CommandError: it holds a control character, which would garble the customer's chat.
    """
    if value is None or not value.strip():
        return None
    control = control_in(value)
    if control is not None:
        raise CommandError(f"{option} holds a control character ({control})")
    return value.strip()


def _summary(found: StaffOrder) -> dict[str, object]:
    """Return what `orders list --json` gives of an order (amounts in minor units, times ISO 8601)."""
    order, person = found.order, found.person
    return {
        "id": order.id,
        "status": order.status,
        "total": order.total,
        "currency": order.currency,
        "customer": {  # the person, alike on every channel; external_id: on the order's channel
            "id": person.id,
            "name": person.name,
            "external_id": found.customer.external_id,
        },
        "channel": order.channel,
        "created_at": iso(order.created_at),
        "timeline": [
            {
                "status": step.status,
                "time": iso(step.at),
                "actor": step.actor,
                "note": step.note,
                "carrier": step.carrier,
                "tracking_number": step.tracking_number,
            }
            for step in found.timeline
        ],
    }


def _in_full(found: StaffOrder) -> dict[str, object]:
    """Return what `orders show --json` gives: the summary, lines, totals, delivery and payments."""
    order = found.order
    return {
        **_summary(found),
        "subtotal": order.subtotal,
        "discount": order.discount,
        "delivery_price": order.delivery_price,
        "promo_code": order.promo_code,
        "source": order.source,
        "contact": {"name": order.contact_name, "phone": order.contact_phone},
        "delivery": {
            "method": order.delivery_method,
            "address": order.delivery_address,
            "carrier": order.carrier,
            "tracking_number": order.tracking_number,
        },
        "lines": [
            {
                "sku": line.sku,
                "title": line.title,
                "unit_price": line.unit_price,
                "quantity": line.quantity,
                "total": line.unit_price * line.quantity,
                "digital": line.digital,
            }
            for line in found.lines
        ],
        "payments": [
            {
                "id": payment.id,
                "provider": payment.provider,
                "status": payment.status,
                "amount": payment.amount,
                "currency": payment.currency,
                "created_at": iso(payment.created_at),
                "paid_at": iso(payment.paid_at),
                "refunded_at": iso(payment.refunded_at),
            }
            for payment in found.payments
        ],
        "messages": [
            {
                "kind": message.kind,
                "about": message.payload.get("status"),
                "channel": message.channel,
                "status": message.status,
                "error": message.error,
                "created_at": iso(message.created_at),
                "sent_at": iso(message.sent_at),
            }
            for message in found.messages
        ],
    }


def _print(found: StaffOrder) -> None:
    """Print one order as a block people read."""
    order = found.order

    def money(amount: int) -> str:
        return format_money(amount, order.currency)

    out.print(f"[bold]Order #{order.id}[/bold]  {order.status}  {money(order.total)}")
    out.print(f"Customer: {_customer(found)} on {order.channel}", soft_wrap=True)
    contact = ", ".join(shown(part) for part in (order.contact_name, order.contact_phone) if part)
    if contact:
        out.print(f"Contact: {contact}", soft_wrap=True)
    where = f" to {shown(order.delivery_address)}" if order.delivery_address else ""
    parcel = " ".join(shown(part) for part in (order.carrier, order.tracking_number) if part)
    out.print(f"Delivery: {shown(order.delivery_method)}{where}{f', {parcel}' if parcel else ''}")
    for line in found.lines:
        out.print(
            f"  {shown(line.sku)}  {shown(line.title)}  "
            f"{line.quantity} × {money(line.unit_price)} = {money(line.quantity * line.unit_price)}",
            soft_wrap=True,
        )
    promo = f" ({shown(order.promo_code)})" if order.promo_code else ""
    out.print(
        f"  Goods {money(order.subtotal)}, discount {money(order.discount)}{promo}, "
        f"delivery {money(order.delivery_price)}, total {money(order.total)}"
    )
    out.print("Timeline (UTC):")
    for step in found.timeline:
        extra = ", ".join(
            shown(part) for part in (step.carrier, step.tracking_number, step.note) if part
        )
        out.print(
            f"  {_time(step.at)}  {step.status}  by {shown(step.actor)}{f'  {extra}' if extra else ''}",
            soft_wrap=True,
        )
    if found.payments:
        out.print("Payments:")
    for payment in found.payments:
        out.print(
            f"  #{payment.id} {payment.provider} {payment.status} "
            f"{format_money(payment.amount, payment.currency)}, started {_time(payment.created_at)}"
        )
    if found.messages:
        out.print("Messages to the customer:")
    for message in found.messages:
        about = message.payload.get("status", message.kind)
        why = f": {shown(message.error)}" if message.status == "failed" and message.error else ""
        out.print(
            f"  {_time(message.created_at)}  {shown(str(about))}  on {message.channel}  "
            f"{message.status}{why}",
            soft_wrap=True,
        )


def _customer(found: StaffOrder) -> str:
    """Name the customer of an order, alike on every channel: their name (or id on the channel) and number."""
    name = found.person.name or found.customer.external_id
    return f"{shown(name)} (#{found.person.id})"


def _time(moment: datetime) -> str:
    """Return a time as staff read it (UTC, to the minute)."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M}"
