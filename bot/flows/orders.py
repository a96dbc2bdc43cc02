"""My orders: the latest orders, and each one's lines, delivery, tracking and timeline."""

from __future__ import annotations

from bot.flows import actions as a
from bot.flows.common import ints, menu_button
from bot.flows.context import Ctx
from bot.flows.router import FlowRouter
from bot.flows.types import Button, Reply
from shop.i18n import N_, Language
from shop.models import OrderStatus, Reservation
from shop.orders import OrderDetails
from shop.pricing import PICKUP, DeliveryRules

router = FlowRouter("orders")

LISTED = 10

STATUS_NAMES: dict[str, str] = {
    OrderStatus.PENDING_PAYMENT: N_("Waiting for payment"),
    OrderStatus.PAID: N_("Paid"),
    OrderStatus.PACKED: N_("Packed"),
    OrderStatus.SHIPPED: N_("Shipped"),
    OrderStatus.DELIVERED: N_("Delivered"),
    OrderStatus.CANCELLED: N_("Cancelled"),
    OrderStatus.REFUNDED: N_("Refunded"),
}
DELIVERY_NAMES = {
    "pickup": N_("Pickup from the shop"),
    "courier": N_("Courier"),
    "post": N_("Post"),
    "none": N_("No delivery needed"),
}


@router.command("orders")
@router.press(a.ORDERS)
async def list_orders(ctx: Ctx, _arg: str) -> list[Reply]:
    """Show the customer's latest orders, newest first."""
    orders = await ctx.shop.orders.list_for_customer(ctx.customer_id, LISTED)
    if not orders:
        body = ctx._("You have no orders yet.")
        rows = [[Button("🛍 " + ctx._("Catalog"), a.CATALOG), menu_button(ctx)]]
        return [ctx.text(body, rows)]
    rows = [
        [
            Button(
                f"#{order.id} · {status_name(ctx.lang, order.status)} · "
                f"{ctx.money(order.total, order.currency)}",
                a.ORDER,
                str(order.id),
            )
        ]
        for order in orders
    ]
    rows.append([menu_button(ctx)])
    return [ctx.text(ctx._("Your orders:"), rows)]


@router.press(a.ORDER)
async def show_order(ctx: Ctx, arg: str) -> list[Reply]:
    """Show one of the customer's orders with its timeline (never someone else's)."""
    (order_id,) = ints(arg, 1)
    details = await ctx.shop.orders.get(order_id, customer_id=ctx.customer_id)
    order = details.order
    rows: list[list[Button]] = []
    if order.status == OrderStatus.PENDING_PAYMENT and order.reservation == Reservation.HELD:
        rows.append([Button("💳 " + ctx._("Pay"), a.PAY, str(order.id))])
        rows.append([Button("✕ " + ctx._("Cancel order"), a.ORDER_CANCEL, str(order.id))])
    rows.append([Button("« " + ctx._("My orders"), a.ORDERS), menu_button(ctx)])
    return [ctx.text(describe_order(ctx.lang, details, ctx.shop.orders.delivery), rows)]


@router.press(a.ORDER_CANCEL)
async def cancel_order(ctx: Ctx, arg: str) -> list[Reply]:
    """Cancel an unpaid order of the customer's, after asking once: its goods go back on sale at once."""
    order_id, sure = ints(arg, 2)
    order = (await ctx.shop.orders.get(order_id, customer_id=ctx.customer_id)).order
    back = Button("« " + ctx._("Order details"), a.ORDER, str(order.id))
    if order.status != OrderStatus.PENDING_PAYMENT:
        body = ctx._("Order #{number} doesn't wait for payment.").format(number=order.id)
        return [ctx.text(body, [[back]])]
    if not sure:
        body = ctx._("Cancel order #{number}? Its goods go back on sale.").format(number=order.id)
        yes = Button("✕ " + ctx._("Yes, cancel it"), a.ORDER_CANCEL, f"{order.id}:1")
        return [ctx.text(body, [[yes], [back]])]
    await ctx.shop.orders.transition(
        order.id,
        OrderStatus.CANCELLED,
        actor="customer",
        customer_id=ctx.customer_id,
        tell=False,  # the answer below tells them
    )
    body = ctx._("Order #{number} is cancelled.").format(number=order.id)
    return [ctx.text(body, [[Button("📦 " + ctx._("My orders"), a.ORDERS), menu_button(ctx)]])]


def status_name(lang: Language, status: str) -> str:
    """Return an order status in words."""
    name = STATUS_NAMES.get(status)
    return lang._(name) if name else status


def delivery_name(lang: Language, rules: DeliveryRules, option_id: str) -> str:
    """Return a delivery option's name in words: the owner's own, else ours, else its id."""
    owned = rules.name_for(option_id, lang.locale)
    if owned:
        return owned
    name = DELIVERY_NAMES.get(option_id)
    return lang._(name) if name else option_id


def describe_order(lang: Language, details: OrderDetails, rules: DeliveryRules) -> str:
    """Return an order in words: lines, delivery, totals, tracking, and the timeline."""
    order = details.order
    heading = lang._("Order #{number} — {status}").format(
        number=order.id, status=status_name(lang, order.status)
    )
    timeline_lines = ["", lang._("Timeline:"), *timeline(lang, details)]
    return "\n".join([heading, "", *order_lines(lang, details, rules), *timeline_lines])


def order_lines(lang: Language, details: OrderDetails, rules: DeliveryRules) -> list[str]:
    """Return what an order holds in words: its lines, discount, delivery, total and tracking."""
    order = details.order
    _ = lang._
    money = lang.money
    lines = []
    for line in details.lines:
        title = line.title_i18n.get(lang.locale, line.title)
        amount = money(line.unit_price * line.quantity, order.currency)
        lines.append(f"• {title} × {line.quantity} — {amount}")
    if order.discount:
        lines.append(
            _("Discount ({code}): −{amount}").format(
                code=order.promo_code or "", amount=money(order.discount, order.currency)
            )
        )
    delivery = delivery_name(lang, rules, order.delivery_method)
    price = money(order.delivery_price, order.currency) if order.delivery_price else _("free")
    lines.append(_("Delivery: {method} — {price}").format(method=delivery, price=price))
    if order.delivery_address:
        lines.append(_("Address: {address}").format(address=order.delivery_address))
    elif order.delivery_method == PICKUP and rules.pickup_address:
        lines.append(_("Pick it up at: {address}").format(address=rules.pickup_address))
    lines.append(_("Total: {amount}").format(amount=money(order.total, order.currency)))
    tracking = tracking_line(lang, order.carrier, order.tracking_number)
    if tracking:
        lines.append(tracking)
    return lines


def timeline(lang: Language, details: OrderDetails) -> list[str]:
    """Return the order's status changes, one line each, oldest first."""
    lines = []
    for event in details.events:
        line = f"{lang.when(event.at)} — {status_name(lang, event.status)}"
        tracking = tracking_line(lang, event.carrier, event.tracking_number)
        lines.append(f"{line} ({tracking})" if tracking else line)
    return lines


def tracking_line(lang: Language, carrier: str | None, number: str | None) -> str:
    """Return "carrier, tracking number" in words, or "" when there is neither."""
    if carrier and number:
        return lang._("{carrier}, tracking number {number}").format(carrier=carrier, number=number)
    if number:
        return lang._("Tracking number {number}").format(number=number)
    return carrier or ""
