"""Everything the bot says to staff, in English (the staff's language here), in one place.

Customers' words live in the gettext catalogs (locales/); these never reach a
customer. Names and questions typed by customers go out as plain text (no parse
mode), so nothing in them is taken as markup.
"""

from __future__ import annotations

from bot.flows.orders import order_lines, status_name, tracking_line
from payments.interface import PaymentRecord, PaymentStatus
from shop.errors import IllegalTransitionError, NotFoundError, ShopError
from shop.i18n import Language
from shop.models import OrderEvent, OrderStatus
from shop.money import format_money
from shop.orders import OrderDetails
from shop.pricing import DeliveryRules
from shop.tickets import TicketView
from shop.views import CustomerView, OrderView

ENGLISH = Language("en")


def answered(ticket: TicketView) -> str:
    """Return the word that a staff member's answer went to the customer."""
    return f"Sent to {ticket.name or 'the customer'} (ticket #{ticket.id})."


def already_answered(ticket: TicketView) -> str:
    """Return why a second answer to a ticket was not sent, with the first one."""
    when = ENGLISH.when(ticket.answered_at) if ticket.answered_at else "?"
    return (
        f"Ticket #{ticket.id} was already answered by {ticket.answered_by} on {when}:\n\n"
        f"{ticket.answer}\n\nYour reply was not sent."
    )


# Orders ----------------------------------------------------------------------------------

NO_ORDERS = "No orders yet."
RECENT_ORDERS = (
    "Orders: paid, packed and shipped first, then waiting for payment, then the latest others "
    "(newest first in each). Open one to move it on:"
)
ALL_ORDERS = "« Orders"
REFRESH = "🔄 Refresh"
MOVES = {
    OrderStatus.PACKED: "📦 Packed",
    OrderStatus.SHIPPED: "🚚 Shipped…",
    OrderStatus.DELIVERED: "✅ Delivered",
    OrderStatus.CANCELLED: "✕ Cancel",
    OrderStatus.REFUNDED: "↩ Refund…",
}
YES_REFUND = "↩ Yes, refund"
NO = "No"


def status(value: str) -> str:
    """Return an order status in words ("Waiting for payment")."""
    return status_name(ENGLISH, value)


def order_button(order: OrderView) -> str:
    """Return an order as a line of the /admin list."""
    amount = format_money(order.total, order.currency)
    name = f" · {order.contact_name}" if order.contact_name else ""
    return f"#{order.id} · {status(order.status)} · {amount}{name}"


def card(details: OrderDetails, customer: CustomerView, rules: DeliveryRules) -> str:
    """Return an order's card: status, customer, lines, totals, delivery, tracking and timeline."""
    order = details.order
    lines = [
        f"Order #{order.id} — {status(order.status)}",
        f"Customer #{customer.id}: {customer.display_name or 'no name'} ({customer.channel})",
    ]
    contact = ", ".join(part for part in (order.contact_name, order.contact_phone) if part)
    if contact:
        lines.append(f"Contact: {contact}")
    lines.extend(["", *order_lines(ENGLISH, details, rules), "", "Timeline:"])
    lines.extend(_event(event) for event in details.events)
    return "\n".join(lines)


def _event(event: OrderEvent) -> str:
    """Return a step of the timeline as staff see it: when, what, who (and why)."""
    line = f"{ENGLISH.when(event.at)} — {status(event.status)} · {event.actor}"
    tracking = tracking_line(ENGLISH, event.carrier, event.tracking_number)
    if tracking:
        line += f" ({tracking})"
    return f"{line}: {event.note}" if event.note else line


def moved(order_id: int, to: str) -> str:
    """Return the word that an order moved."""
    return f"Order #{order_id}: {status(to)}."


def moved_meanwhile(order_id: int, now: str) -> str:
    """Return why a press on an older card did nothing: the order moved since it was drawn."""
    return f"Order #{order_id} moved meanwhile: it is {status(now)} now. Here it is as it is."


def refused(error: ShopError) -> str:
    """Return why the shop refused a staff member's step."""
    if isinstance(error, IllegalTransitionError):
        return (
            f"Order #{error.order_id} cannot go from {status(error.current)} "
            f"to {status(error.wanted)}: {error.reason}."
        )
    if isinstance(error, NotFoundError):
        return f"There is no {error.what} #{error.key}."
    return f"Refused: {error}"


def refund_question(order: OrderView) -> str:
    """Return the question asked before a refund."""
    amount = format_money(order.total, order.currency)
    return f"Refund {amount} to the customer? (order #{order.id}, {status(order.status)})"


def refunded(order_id: int, payment: PaymentRecord) -> str:
    """Return what became of a refund staff asked for: done, or asked and not yet confirmed."""
    amount = format_money(payment.amount, payment.currency)
    if payment.status == PaymentStatus.REFUNDED:
        return f"Order #{order_id} is refunded: {amount} back through {payment.provider}."
    return (
        f"Order #{order_id}: the refund of {amount} is asked of {payment.provider}, which has "
        "not confirmed it yet; the shop tries again until it does."
    )


# Shipping ----------------------------------------------------------------------------------

NO_CARRIER = "No carrier"
NO_TRACKING = "No tracking number"
LEAVE = "✕ Cancel"
QUESTION_CLOSED = "This question is closed. Press Shipped on the order's card to start again."


def ask_carrier(order_id: int) -> str:
    """Return the first shipping question: the carrier."""
    return (
        f"Shipping order #{order_id}. Carrier? Type its name, or press No carrier (/cancel leaves)."
    )


def ask_tracking(order_id: int, carrier: str | None) -> str:
    """Return the second shipping question: the tracking number."""
    return f"Order #{order_id}, {carrier or 'no carrier'}. Tracking number? Type it, or press No tracking number."


def shipped(order_id: int, carrier: str | None, number: str | None) -> str:
    """Return the word that an order is shipped, with its carrier and tracking number."""
    tracking = tracking_line(ENGLISH, carrier, number)
    return (
        f"Order #{order_id} is shipped: {tracking}."
        if tracking
        else f"Order #{order_id} is shipped."
    )


def not_shipped(order_id: int) -> str:
    """Return the word that the shipping questions were left, the order as it was."""
    return f"Left: order #{order_id} is not shipped."
