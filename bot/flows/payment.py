"""Payment: an invoice on Telegram, a payment link elsewhere, for a new order or one still unpaid."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.flows import actions as a
from bot.flows.common import ints
from bot.flows.context import Ctx
from bot.flows.router import FlowRouter
from bot.flows.types import Button, PaymentRequest, Reply
from payments.telegram import TELEGRAM, TELEGRAM_STARS
from shop.models import OrderStatus
from shop.views import OrderView

log = logging.getLogger(__name__)
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


def can_pay(ctx: Ctx, *, digital: bool) -> bool:
    """Tell whether some provider the shop has takes this customer's payment for such goods."""
    return ctx.shop.payments.method_for(ctx.who.channel.value, digital=digital) is not None


async def cannot_pay(ctx: Ctx) -> list[Reply]:
    """Tell the customer, politely, that payment is not possible now; tell the staff why.

    The cart stays as it is and no stock is held for an order nobody could pay.
    """
    log.error(
        "customer %s cannot pay on %s: no payment provider is set",
        ctx.customer_id,
        ctx.who.channel.value,
    )
    await ctx.shop.outbox.alert_staff(
        f"Customer #{ctx.customer_id} ({ctx.who.channel.value}) wanted to pay and could not: "
        "no payment provider takes this payment. Set TELEGRAM_PAYMENT_PROVIDER_TOKEN "
        "or STRIPE_API_KEY (or PAYMENTS_SANDBOX=true for test payments)."
    )
    body = ctx._(
        "Sorry, we can't take payments here right now. Our team has been told; "
        "your cart is kept, so please try again later."
    )
    return [ctx.text(body, [[Button("🛒 " + ctx._("Cart"), a.CART)]], edit=False)]


def form_pays(ctx: Ctx, *, digital: bool) -> bool:
    """Tell whether the messenger's own payment form takes this customer's payment (and details).

    Where the channel has invoices (Telegram), digital goods are paid in Stars, physical
    goods by a card invoice when a payment provider token is set; elsewhere by a link.
    """
    wanted = TELEGRAM_STARS if digital else TELEGRAM
    return ctx.who.can.invoices and wanted in ctx.shop.payments.providers


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
    if not ctx.shop.payments.providers[start.provider].live:
        how += "\n" + ctx._("This is a test payment: no real money is charged.")
    label = ctx._("Pay {amount}").format(amount=ctx.money(start.amount, start.currency))
    return [PaymentRequest(start, f"{body}\n{how}", label)]
