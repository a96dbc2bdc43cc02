"""What the shop tells a customer unasked: order status changes, refunds, staff answers."""

from __future__ import annotations

from bot.flows import actions as a
from bot.flows.orders import status_name, timeline, tracking_line
from bot.flows.types import Button, Reply, Text
from payments.interface import Outcome, PaymentNotice
from shop.i18n import Language
from shop.models import OrderStatus
from shop.orders import OrderChange, OrderDetails


def order_changed(lang: Language, change: OrderChange, details: OrderDetails) -> list[Reply]:
    """Return the message about an order's new status, with its timeline."""
    _ = lang._
    number = details.order.id
    if change.status == OrderStatus.PAID:
        head = _("Payment received, thank you! Order #{number} is paid.").format(number=number)
    elif change.status == OrderStatus.CANCELLED and change.previous == OrderStatus.PENDING_PAYMENT:
        head = _("Order #{number} is cancelled: it wasn't paid in time.").format(number=number)
    else:
        head = _("Order #{number}: {status}.").format(
            number=number, status=status_name(lang, change.status)
        )
    lines = [head]
    tracking = tracking_line(lang, change.carrier, change.tracking_number)
    if tracking:
        lines.append(tracking)
    lines.extend(["", _("Timeline:"), *timeline(lang, details)])
    return [Text("\n".join(lines), _order_buttons(lang, number))]


def payment_refunded(lang: Language, notice: PaymentNotice) -> list[Reply]:
    """Return the message about money the shop did not keep."""
    _ = lang._
    amount = lang.money(notice.amount, notice.currency)
    if notice.outcome == Outcome.REFUND_FAILED:
        body = _(
            "We couldn't keep your payment of {amount} for order #{number}. "
            "Our team will return it to you shortly."
        )
    else:
        body = _("Your payment of {amount} for order #{number} has been returned to you.")
    return [
        Text(
            body.format(amount=amount, number=notice.order_id),
            _order_buttons(lang, notice.order_id),
        )
    ]


def staff_answer(lang: Language, text: str) -> list[Reply]:
    """Return the staff's answer to the customer's question."""
    body = lang._("Answer from our team:") + "\n\n" + text
    rows = [
        [Button("💬 " + lang._("Ask another question"), a.HELP)],
        [Button("🏠 " + lang._("Menu"), a.MENU)],
    ]
    return [Text(body, rows)]


def _order_buttons(lang: Language, order_id: int) -> list[list[Button]]:
    return [[Button("📦 " + lang._("Order details"), a.ORDER, str(order_id))]]
