"""The payment page as HTML: small, mobile-friendly, no scripts, every value escaped."""

from __future__ import annotations

from html import escape

from payments.hosted import CheckoutPage
from payments.interface import ALREADY_PAID, NOT_PAYABLE, PaymentStatus
from shop.i18n import N_, Language
from shop.models import OrderStatus

FAILED = N_("The payment could not be confirmed. Please try again.")
# A link that cannot be paid: the page's title, then what to do.
_PROBLEMS = {
    "not_found": (
        N_("Payment link not found"),
        N_("This payment link does not exist. Ask for a new one in the chat."),
    ),
    "expired": (
        N_("Payment link expired"),
        N_("This payment link has expired. Ask for a new one in the chat."),
    ),
}

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1d1d1f}
main{max-width:28rem;margin:0 auto;padding:1.25rem}
.card{background:#fff;border-radius:14px;padding:1.25rem;box-shadow:0 1px 4px rgba(0,0,0,.08)}
h1{font-size:1.3rem;margin:0 0 1rem}
table{width:100%;border-collapse:collapse}
td{padding:.35rem 0;vertical-align:top}
td.sum{text-align:right;white-space:nowrap;padding-left:1rem}
tr.total td{border-top:1px solid #ddd;font-weight:600;padding-top:.6rem}
.note{color:#666;font-size:.85rem;margin:1rem 0 0}
.state{font-size:1.05rem;margin:1rem 0 0}
form{display:flex;flex-direction:column;gap:.6rem;margin-top:1.25rem}
button,a.button{font-size:1.05rem;padding:.9rem;border-radius:10px;border:0;text-align:center;text-decoration:none}
button.pay{background:#1a7f37;color:#fff}
button.cancel{background:#e9eaee;color:#1d1d1f}
a.button{display:block;margin-top:1.25rem;background:#e9eaee;color:#1d1d1f}
"""


def _document(title: str, body: str, locale: str) -> str:
    return (
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><main><div class="card">{body}</div></main></body></html>'
    )


def render_page(page: CheckoutPage, locale: str, *, message: str | None = None) -> str:
    """Return the page of a payment: the order's lines and total, then Pay / Cancel or how it stands."""
    order, payment = page.details.order, page.payment
    lang = Language.of(locale)
    _ = lang._

    def row(label: str, amount: int, css: str = "") -> str:
        return (
            f'<tr class="{css}"><td>{escape(label)}</td>'
            f'<td class="sum">{escape(lang.money(amount, order.currency))}</td></tr>'
        )

    rows = [
        row(
            f"{line.title_i18n.get(locale, line.title)} × {line.quantity}",
            line.unit_price * line.quantity,
        )
        for line in page.details.lines
    ]
    if order.discount:
        rows.append(row(_("Discount"), -order.discount))
    if order.delivery_price:
        rows.append(row(_("Delivery"), order.delivery_price))
    rows.append(row(_("Total"), order.total, "total"))
    title = _("Order #{order}").format(order=order.id)
    parts = [f"<h1>{escape(title)}</h1>", f"<table>{''.join(rows)}</table>"]
    if payment.currency != order.currency:  # Telegram Stars
        charged = lang.money(payment.amount, payment.currency)
        parts.append(f'<p class="note">= {escape(charged)}</p>')
    if message:
        parts.append(f'<p class="state" role="alert">{escape(message)}</p>')
    if page.payable:
        pay = _("Pay {amount}").format(amount=lang.money(payment.amount, payment.currency))
        parts.append(
            '<form method="post">'
            f'<button class="pay" type="submit" name="action" value="pay">{escape(pay)}</button>'
            f'<button class="cancel" type="submit" name="action" value="cancel">{escape(_("Cancel"))}</button>'
            "</form>"
            f'<p class="note">{escape(_("Test checkout: no real money is charged."))}</p>'
        )
    elif not message:
        parts.append(f'<p class="state" role="status">{escape(_(_state(page)))}</p>')
    if payment.return_url and not page.payable:
        parts.append(
            f'<a class="button" href="{escape(payment.return_url)}">{escape(_("Back to the chat"))}</a>'
        )
    return _document(title, "".join(parts), locale)


# How a payment stands, by its status, when Pay is not offered (messages to translate).
_NOT_KEPT = N_("This payment was not kept: the money goes back to you.")
_STATES = {
    PaymentStatus.SUCCEEDED: N_("Payment received. Thank you! You can go back to the chat."),
    PaymentStatus.CANCELLED: N_("Payment cancelled. The order is not paid."),
    PaymentStatus.REFUNDING: _NOT_KEPT,
    PaymentStatus.REFUNDED: _NOT_KEPT,
    PaymentStatus.REFUND_FAILED: _NOT_KEPT,
    PaymentStatus.FAILED: FAILED,
}


def _state(page: CheckoutPage) -> str:
    """Return the message saying how a payment stands, when Pay is not offered (to translate)."""
    status, order = page.payment.status, page.details.order
    if status == PaymentStatus.CANCELLED and order.status == OrderStatus.CANCELLED:
        return N_("Payment cancelled, and the order with it.")
    if status in _STATES:
        return _STATES[PaymentStatus(status)]
    if order.status != OrderStatus.PENDING_PAYMENT:
        return ALREADY_PAID if order.status == OrderStatus.PAID else NOT_PAYABLE
    return N_("Waiting for the payment to be confirmed…")


def render_problem(kind: str, locale: str) -> str:
    """Return the page for a link that is ``not_found`` or ``expired``."""
    lang = Language.of(locale)
    title, advice = (lang._(message) for message in _PROBLEMS[kind])
    return _document(title, f"<h1>{escape(title)}</h1><p>{escape(advice)}</p>", locale)
