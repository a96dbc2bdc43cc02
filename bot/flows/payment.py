"""Payment: an invoice on Telegram, a payment link elsewhere, for a new order or one still unpaid."""

from __future__ import annotations

from dataclasses import replace

from bot.flows import actions as a
from bot.flows.common import ints
from bot.flows.context import Ctx
from bot.flows.router import FlowRouter
from bot.flows.types import Button, PaymentRequest, Reply
from payments.telegram import TELEGRAM, TELEGRAM_STARS
from shop.models import Channel, OrderStatus
from shop.views import OrderView

router = FlowRouter("payment")


@router.press(a.PAY)
async def pay_order(ctx: Ctx, arg: str) -> list[Reply]:
    """Offer to pay one of the customer's orders that waits for payment."""
    (order_id,) = ints(arg, 1)
    order = (await ctx.shop.orders.get(order_id, customer_id=ctx.customer_id)).order
    if order.status != OrderStatus.PENDING_PAYMENT:
        body = ctx._("Order #{number} doesn't wait for payment.").format(number=order.id)
        return [ctx.text(body, [[Button("📦 " + ctx._("My orders"), a.ORDERS)]], edit=False)]
    return await payment_replies(ctx, order)


def telegram_form_pays(ctx: Ctx, *, digital: bool) -> bool:
    """Tell whether Telegram's own payment form takes this customer's payment (and their details).

    On Telegram, digital goods are paid in Stars, physical goods by a card invoice
    when a payment provider token is set; elsewhere a payment link is used.
    """
    wanted = TELEGRAM_STARS if digital else TELEGRAM
    return ctx.who.channel == Channel.TELEGRAM and wanted in ctx.shop.payments.providers


async def payment_replies(ctx: Ctx, order: OrderView, *, form: bool = False) -> list[Reply]:
    """Start paying `order` and return the invoice or link, with the order's summary.

    With `form`, Telegram's payment form asks for the name, phone and address
    (the flow asked nothing: scan, Buy now, Pay).
    """
    start = await ctx.shop.payments.start(order.id, locale=ctx.locale)
    if form and start.invoice is not None and start.provider == TELEGRAM and not order.digital:
        invoice = replace(
            start.invoice,
            need_name=True,
            need_phone_number=True,
            need_shipping_address=True,
            is_flexible=True,
        )
        start = replace(start, invoice=invoice)
    details = await ctx.shop.orders.get(order.id)
    units = sum(line.quantity for line in details.lines)
    items = ctx.ngettext("{n} item", "{n} items", units).format(n=units)
    body = ctx._("Order #{number}: {items}, total {total}.").format(
        number=order.id, items=items, total=ctx.money(order.total, order.currency)
    )
    if start.invoice is not None and form and not order.digital:
        how = ctx._("Pay with the invoice below; Telegram will ask where to deliver.")
    elif start.invoice is not None:
        how = ctx._("Pay with the invoice below.")
    else:
        until = min(start.expires_at, order.reserved_until)  # the goods are held until then
        how = ctx._("Pay by the link below; it works until {time}.").format(time=ctx.when(until))
    label = ctx._("Pay {amount}").format(amount=ctx.money(start.amount, start.currency))
    return [PaymentRequest(start, f"{body}\n{how}", label)]
