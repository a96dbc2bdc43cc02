"""What the shop says unasked, composed when it is sent: order news, money returned, staff answers and alerts, reminders.

The shop queues a message with the facts (shop/outbox.py); the delivery worker
composes it here in the recipient's language just before sending, reading the
order as it is then, its timeline up to the change being told.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.flows import actions as a
from bot.flows.orders import status_name, timeline, tracking_line
from bot.flows.types import Button, Reply, Text
from shop.carts import CartView
from shop.i18n import Language
from shop.models import OrderStatus
from shop.money import format_money
from shop.orders import SHOP_ACTOR, OrderDetails
from shop.outbox import Kind, Outbound
from shop.views import CustomerView, ProductView

if TYPE_CHECKING:
    from bot.services import Shop

STAFF_LANGUAGE = Language("en")  # staff read English here (design.md: staff commands)


class NothingToSayError(Exception):
    """A message that can no longer be composed (its order is gone): it is not sent."""


async def compose(
    shop: Shop, message: Outbound, lang: Language, customer: CustomerView | None = None
) -> list[Reply]:
    """Return the replies that say `message` in `lang` to `customer` (staff alerts in the staff's language).

    Raises:
        NothingToSayError: the message is of a kind this version does not know, or its order is gone.
    """
    payload = message.payload
    if message.kind == Kind.ORDER_STATUS:
        details = await shop.orders.get(int(payload["order_id"]))
        return order_changed(lang, details, payload, shop.settings.tracking_urls)
    if message.kind == Kind.MONEY_RETURNED:
        return money_returned(lang, payload)
    if message.kind == Kind.STAFF_ANSWER:
        return staff_answer(lang, str(payload["text"]))
    if message.kind == Kind.STAFF_ALERT:
        return await staff_alert(shop, payload)
    if message.kind == Kind.BROADCAST:
        return broadcast(message, lang, customer)
    if message.kind in (Kind.CART_REMINDER, Kind.BACK_IN_STOCK):
        return await reminder(shop, message, lang)
    raise NothingToSayError(f"unknown kind of message {message.kind!r}")


def broadcast(message: Outbound, lang: Language, customer: CustomerView | None) -> list[Reply]:
    """Return a broadcast's text, unless its customer opted out since it was queued.

    Raises:
        NothingToSayError: the customer withdrew their consent meanwhile.
    """
    if customer is not None and not customer.marketing_consent:
        raise NothingToSayError("the customer opted out of broadcasts after it was queued")
    return [Text(str(message.payload["text"]), [[Button("🏠 " + lang._("Menu"), a.MENU)]])]


def order_changed(
    lang: Language, details: OrderDetails, change: dict[str, Any], tracking_urls: dict[str, str]
) -> list[Reply]:
    """Return the message about an order's new status, with its timeline up to that change."""
    _ = lang._
    number = details.order.id
    status, previous = change["status"], change["previous"]
    upto = int(change["event_id"])
    events = [event for event in details.events if (event.id or 0) <= upto]
    told = next((e for e in reversed(events) if e.status == status), None)
    # Staff (and customers on the payment page) cancel unpaid orders too: no time ran out then.
    lapsed = told is not None and told.actor == SHOP_ACTOR
    if status == OrderStatus.PAID:
        head = _("Payment received, thank you! Order #{number} is paid.").format(number=number)
    elif status == OrderStatus.CANCELLED and previous == OrderStatus.PENDING_PAYMENT and lapsed:
        head = _("Order #{number} is cancelled: it wasn't paid in time.").format(number=number)
    else:
        head = _("Order #{number}: {status}.").format(
            number=number, status=status_name(lang, status)
        )
    carrier = told.carrier if told else None
    number_sent = told.tracking_number if told else None
    lines = [head]
    tracking = tracking_line(lang, carrier, number_sent)
    if tracking:
        lines.append(tracking)
    lines.extend(["", _("Timeline:"), *timeline(lang, OrderDetails(details.order, [], events))])
    rows = _order_buttons(lang, number)
    link = tracking_link(tracking_urls, carrier, number_sent)
    if link:
        rows.insert(0, [Button("🚚 " + _("Track the parcel"), url=link)])
    return [Text("\n".join(lines), rows)]


def tracking_link(urls: dict[str, str], carrier: str | None, number: str | None) -> str | None:
    """Return the carrier's tracking page for `number`, from the owner's templates, if there is one."""
    if not carrier or not number:
        return None
    template = {name.casefold(): url for name, url in urls.items()}.get(carrier.casefold())
    return template.replace("{number}", quote(number, safe="")) if template else None


def money_returned(lang: Language, payload: dict[str, Any]) -> list[Reply]:
    """Return the message about money the shop did not keep."""
    _ = lang._
    amount = lang.money(int(payload["amount"]), str(payload["currency"]))
    if payload["returned"]:
        body = _("Your payment of {amount} for order #{number} has been returned to you.")
    else:
        body = _(
            "We couldn't keep your payment of {amount} for order #{number}. "
            "Our team will return it to you shortly."
        )
    order_id = int(payload["order_id"])
    return [Text(body.format(amount=amount, number=order_id), _order_buttons(lang, order_id))]


async def reminder(shop: Shop, message: Outbound, lang: Language) -> list[Reply]:
    """Return a reminder the customer is sent: of their cart left alone, or of a product back."""
    if message.kind == Kind.BACK_IN_STOCK:
        return back_in_stock(lang, await shop.catalog.product(int(message.payload["product_id"])))
    if message.customer_id is None:
        raise NothingToSayError("a cart reminder for no customer")
    return cart_reminder(lang, await shop.carts.view(message.customer_id))


def cart_reminder(lang: Language, cart: CartView) -> list[Reply]:
    """Return the reminder of a cart left alone: what it holds, its total, the way back to it.

    Raises:
        NothingToSayError: the cart was emptied since the reminder was queued.
    """
    if not cart.lines:
        raise NothingToSayError("the cart was emptied since")
    _ = lang._
    currency = cart.currency or ""
    lines = [_("You left something in your cart:"), ""]
    for line in cart.lines:
        amount = lang.money(line.total, currency)
        lines.append(f"• {line.product.title_for(lang.locale)} × {line.quantity} — {amount}")
    lines.extend(["", _("Total: {amount}").format(amount=lang.money(cart.total, currency))])
    rows = [
        [Button("🛒 " + _("Open the cart"), a.CART)],
        [Button("✅ " + _("Checkout"), a.CHECKOUT)],
    ]
    return [Text("\n".join(lines), rows)]


def back_in_stock(lang: Language, product: ProductView | None) -> list[Reply]:
    """Return the news that a product the customer asked about is back in stock.

    Raises:
        NothingToSayError: the product was deleted or taken off sale since.
    """
    if product is None or not product.active:
        raise NothingToSayError("the product is no longer sold")
    _ = lang._
    title = product.title_for(lang.locale)
    body = "\n".join(
        [
            _("Good news: {title} is back in stock.").format(title=title),
            lang.money(product.price, product.currency),
        ]
    )
    return [Text(body, [[Button("🛍 " + _("See the product"), a.PRODUCT, str(product.id))]])]


def staff_answer(lang: Language, text: str) -> list[Reply]:
    """Return the staff's answer to the customer's question."""
    body = lang._("Answer from our team:") + "\n\n" + text
    rows = [
        [Button("💬 " + lang._("Ask another question"), a.HELP)],
        [Button("🏠 " + lang._("Menu"), a.MENU)],
    ]
    return [Text(body, rows)]


async def staff_alert(shop: Shop, payload: dict[str, Any]) -> list[Reply]:
    """Return an alert for the staff, in their language: a paid order, a question, a refund to make by hand."""
    event = payload.get("event")
    if event == "paid":
        details = await shop.orders.get(int(payload["order_id"]))
        order = details.order
        items = [f"• {line.title} × {line.quantity}" for line in details.lines]
        total = format_money(order.total, order.currency, STAFF_LANGUAGE.locale)
        head = f"💰 New paid order #{order.id}: {total}"
        return [Text("\n".join([head, *items]))]
    if event == "ticket":
        asked = await shop.tickets.get(int(payload["ticket_id"]))
        body = (
            f"Ticket #{asked.id} from {asked.name or 'no name'} ({asked.channel}, {asked.locale}):"
            f"\n\n{asked.text}\n\nReply to this message to answer."
        )
        return [Text(body)]
    if event == "refund_failed":
        body = (
            f"⚠️ The refund for order #{payload['order_id']} failed: {payload['note']}\n"
            "Give the money back at the payment provider."
        )
        return [Text(body)]
    return [Text(f"⚠️ {payload['text']}")]


def _order_buttons(lang: Language, order_id: int) -> list[list[Button]]:
    return [[Button("📦 " + lang._("Order details"), a.ORDER, str(order_id))]]
