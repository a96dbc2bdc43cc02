"""Checkout: phone (shared or typed), name, delivery option and its price, address; then payment.

Details from the last order are offered in one tap ("use the same"). "Buy now" on
a product card buys just that product; on Telegram, where the payment form itself
asks for the name, phone and address, it goes straight to the invoice.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from bot.flows import actions as a
from bot.flows.common import ints
from bot.flows.context import Ctx
from bot.flows.errors import StaleInputError
from bot.flows.orders import delivery_name
from bot.flows.payment import can_pay, cannot_pay, form_pays, payment_replies
from bot.flows.product import live_product
from bot.flows.router import FlowRouter
from bot.flows.types import Button, ContactRequest, Reply, SharedContact
from payments.interface import PaymentError
from shop.analytics import EventKind
from shop.carts import MAX_QUANTITY
from shop.errors import CartEmptyError
from shop.orders import Contact
from shop.pricing import PICKUP, DeliveryOption, Totals

log = logging.getLogger(__name__)
router = FlowRouter("checkout")

FLOW = "checkout"
SAME = "checkout.same"
PHONE = "checkout.phone"
NAME = "checkout.name"
DELIVERY = "checkout.delivery"
ADDRESS = "checkout.address"

_PHONE_NOISE = re.compile(r"[\s().-]")
_PHONE = re.compile(r"\+?\d{7,15}")
NAME_WIDTH = 100
ADDRESS_WIDTH = 300


@router.press(a.CHECKOUT)
async def begin_checkout(ctx: Ctx, _arg: str) -> list[Reply]:
    """Start checking the cart out."""
    cart = await ctx.shop.carts.view(ctx.customer_id)
    if not cart.lines:
        raise CartEmptyError
    if cart.promo_problem is not None:
        raise cart.promo_problem
    if not can_pay(ctx, digital=cart.digital_only):
        return await cannot_pay(ctx)
    ctx.state.data[FLOW] = {"digital": cart.digital_only}
    return await ask_details(ctx)


@router.press(a.BUY_NOW)
async def buy_now(ctx: Ctx, arg: str) -> list[Reply]:
    """Buy one product at once: straight to Telegram's invoice, or through the questions."""
    product_id, quantity = ints(arg, 2)
    product = await live_product(ctx, product_id)
    if not can_pay(ctx, digital=product.digital):
        return await cannot_pay(ctx)
    quantity = max(1, min(quantity, MAX_QUANTITY))
    await ctx.record(EventKind.BUY_NOW, product_id=product.id, value=quantity)
    ctx.state.data[FLOW] = {"digital": product.digital, "only": [product.id, quantity]}
    if form_pays(ctx, digital=product.digital):
        return await finish(ctx)
    return await ask_details(ctx)


@router.press(a.CHECKOUT_CANCEL)
async def cancel_checkout(ctx: Ctx, _arg: str) -> list[Reply]:
    """Stop checking out; the cart stays as it is."""
    ctx.state.data.pop(FLOW, None)
    body = ctx._("Checkout cancelled. Your cart is kept.")
    return [ctx.text(body, [[Button("🛒 " + ctx._("Cart"), a.CART)]], edit=False)]


async def ask_details(ctx: Ctx) -> list[Reply]:
    """Offer the details remembered from the last order, or ask for the phone."""
    customer = ctx.customer
    if not (customer.contact_name and customer.contact_phone):
        return await ask_phone(ctx)
    ctx.state.step = SAME
    lines = [ctx._("Use the same details as last time?"), customer.contact_name]
    lines.append(customer.contact_phone)
    if customer.delivery_address and not _answers(ctx).get("digital"):
        lines.append(customer.delivery_address)
    rows = [
        [Button("✅ " + ctx._("Yes, use these"), a.CHECKOUT_SAME)],
        [Button("✏️ " + ctx._("Enter new details"), a.CHECKOUT_NEW)],
        [_cancel(ctx)],
    ]
    return [ctx.text("\n".join(lines), rows, edit=False)]


@router.press(a.CHECKOUT_SAME, within=FLOW)
async def use_same(ctx: Ctx, _arg: str) -> list[Reply]:
    """Take the name, phone and address of the last order."""
    customer = ctx.customer
    if not (customer.contact_name and customer.contact_phone):
        raise StaleInputError(a.CHECKOUT_SAME)
    answers = _answers(ctx)
    answers.update(name=customer.contact_name, phone=customer.contact_phone)
    answers["address"] = customer.delivery_address
    return await ask_delivery(ctx)


@router.press(a.CHECKOUT_NEW, within=FLOW)
async def enter_new(ctx: Ctx, _arg: str) -> list[Reply]:
    """Ask for new details: from the phone number on, or from the name where the channel knows the number."""
    known = _known_phone(ctx)
    if known is not None:
        _answers(ctx).update(phone=known, name=None)
        return ask_name(ctx)
    return await ask_phone(ctx)


async def ask_phone(ctx: Ctx) -> list[Reply]:
    """Ask for a phone number (shared with the messenger's button, or typed), unless the channel knows it."""
    known = _known_phone(ctx)
    if known is not None:  # WhatsApp: the customer writes from their number
        return await _took_phone(ctx, known, ctx.who.display_name)
    ctx.state.step = PHONE
    if not ctx.who.can.shares_contact:
        body = ctx._("What phone number can we reach you on? Please type it with the country code.")
        return [ctx.text(body, [[_cancel(ctx)]], edit=False)]
    body = ctx._(
        "What phone number can we reach you on? Share it with the button below, or type it."
    )
    return [ContactRequest(body, "📱 " + ctx._("Share my phone number"))]


@router.step(PHONE)
async def typed_phone(ctx: Ctx, text: str) -> list[Reply]:
    """Take a typed phone number, if it is one."""
    phone = valid_phone(text)
    if phone is None:
        body = ctx._(
            "That doesn't look like a phone number. Please type it with the country code, e.g. +44 20 7946 0000."
        )
        return _ask_again(ctx, body)
    _answers(ctx).update(phone=phone, name=None)
    return ask_name(ctx)


@router.contact(PHONE)
async def shared_phone(ctx: Ctx, contact: SharedContact) -> list[Reply]:
    """Take the phone number (and name) the customer shared."""
    phone = _phone(contact.phone)
    if phone is None:
        raise StaleInputError(contact.phone)
    return await _took_phone(ctx, phone, contact.name)


def _known_phone(ctx: Ctx) -> str | None:
    """Return the number the customer writes from, where the channel gives it."""
    return _phone(ctx.who.external_id) if ctx.who.can.knows_phone else None


def _phone(given: str) -> str | None:
    """Return a number a messenger gives (with or without its "+") as we keep it, if it is one."""
    given = given.strip()
    return valid_phone(given if given.startswith("+") else f"+{given}")


async def _took_phone(ctx: Ctx, phone: str, name: str) -> list[Reply]:
    """Keep the phone number, and the name the messenger gave with it: ask for the name if none."""
    name = name.strip()[:NAME_WIDTH]
    _answers(ctx).update(phone=phone, name=name or None)
    return await ask_delivery(ctx) if name else ask_name(ctx)


def ask_name(ctx: Ctx) -> list[Reply]:
    """Ask whose name the order goes under."""
    ctx.state.step = NAME
    return [ctx.text(ctx._("And your name, for the order?"), [[_cancel(ctx)]], edit=False)]


@router.step(NAME)
async def typed_name(ctx: Ctx, text: str) -> list[Reply]:
    """Take the name, if it is one."""
    name = " ".join(text.split())
    if len(name) > NAME_WIDTH:
        return _ask_again(
            ctx,
            ctx.ngettext(
                "That name is too long. Please keep it to {n} character.",
                "That name is too long. Please keep it to {n} characters.",
                NAME_WIDTH,
            ).format(n=NAME_WIDTH),
        )
    if not any(char.isalpha() for char in name):
        return _ask_again(ctx, ctx._("Please type your name in letters."))
    _answers(ctx)["name"] = name
    return await ask_delivery(ctx)


async def ask_delivery(ctx: Ctx, *, intro: str = "") -> list[Reply]:
    """Offer the delivery options with their prices; digital goods need none."""
    answers = _answers(ctx)
    quote = await ctx.shop.orders.quote(ctx.customer_id, only=_only(answers))
    if quote.digital_only:
        return await finish(ctx)
    ctx.state.step = DELIVERY
    rows = [
        [Button(_option_label(ctx, option, priced), a.DELIVERY, option.id)]
        for option, priced in quote.options
    ]
    rows.append([_cancel(ctx)])
    body = ctx._("How should we deliver your order?")
    pickup = ctx.shop.orders.delivery.pickup_address
    if pickup and any(option.id == PICKUP for option, _priced in quote.options):
        body += "\n" + ctx._("Pick it up at: {address}").format(address=pickup)
    return [ctx.text(f"{intro}\n{body}" if intro else body, rows, edit=False)]


@router.step(DELIVERY)
@router.step(SAME)
async def expected_a_press(ctx: Ctx, _text: str) -> list[Reply]:
    """Answer text typed where a choice was asked for: ask again, with the buttons."""
    if ctx.state.step == SAME:
        return await ask_details(ctx)
    return await ask_delivery(ctx, intro=ctx._("Please choose one of the options below."))


@router.press(a.DELIVERY, within=FLOW)
async def choose_delivery(ctx: Ctx, arg: str) -> list[Reply]:
    """Take the delivery option; ask for the address where it needs one."""
    option = ctx.shop.orders.delivery.get(arg)
    answers = _answers(ctx)
    answers["delivery"] = option.id
    if not option.needs_address:
        answers["address"] = None
        return await finish(ctx)
    if answers.get("address"):
        return await finish(ctx)
    ctx.state.step = ADDRESS
    saved = ctx.customer.delivery_address
    if saved:
        body = ctx._("Deliver to {address}? Or type another address.").format(address=saved)
        rows = [[Button("✅ " + ctx._("Yes, deliver there"), a.CHECKOUT_ADDRESS, "same")]]
        return [ctx.text(body, [*rows, [_cancel(ctx)]], edit=False)]
    body = ctx._("Where should we deliver? Type the address: city, street, house, flat.")
    return [ctx.text(body, [[_cancel(ctx)]], edit=False)]


@router.press(a.CHECKOUT_ADDRESS, within=FLOW)
async def same_address(ctx: Ctx, _arg: str) -> list[Reply]:
    """Deliver to the address of the last order."""
    if not ctx.customer.delivery_address or ctx.state.step != ADDRESS:
        raise StaleInputError(a.CHECKOUT_ADDRESS)
    _answers(ctx)["address"] = ctx.customer.delivery_address
    return await finish(ctx)


@router.step(ADDRESS)
async def typed_address(ctx: Ctx, text: str) -> list[Reply]:
    """Take a typed address, if it looks like one."""
    address = " ".join(text.split())
    if len(address) > ADDRESS_WIDTH:
        return _ask_again(
            ctx,
            ctx.ngettext(
                "That address is too long. Please keep it to {n} character.",
                "That address is too long. Please keep it to {n} characters.",
                ADDRESS_WIDTH,
            ).format(n=ADDRESS_WIDTH),
        )
    if len(address) < 5 or not any(c.isalpha() for c in address):
        return _ask_again(ctx, ctx._("Please type the full address: city, street, house, flat."))
    _answers(ctx)["address"] = address
    return await finish(ctx)


async def finish(ctx: Ctx) -> list[Reply]:
    """Place the order with the answers given and ask for payment."""
    answers = _answers(ctx)
    only = _only(answers)
    form = only is not None and form_pays(ctx, digital=bool(answers.get("digital")))
    name, phone = answers.get("name"), answers.get("phone")
    order = await ctx.shop.orders.checkout(
        ctx.customer_id,
        channel=ctx.who.channel.value,
        source=ctx.source,
        contact=Contact(name, phone) if name or phone else None,
        delivery=answers.get("delivery"),
        address=answers.get("address"),
        only=only,
    )
    ctx.shop.customers.forget(ctx.customer_id)  # the order kept their details: read them anew
    ctx.state.step = ""
    ctx.state.data.pop(FLOW, None)
    try:
        return await payment_replies(ctx, order, form=form)
    except PaymentError:  # the order stands; paying it can be tried again from My orders
        log.exception("could not start paying order %s", order.id)
        body = ctx._("Order #{number} is placed, but the payment couldn't be started.").format(
            number=order.id
        )
        rows = [
            [Button("💳 " + ctx._("Pay"), a.PAY, str(order.id))],
            [Button("📦 " + ctx._("My orders"), a.ORDERS)],
        ]
        return [ctx.text(body, rows, edit=False)]


def valid_phone(text: str) -> str | None:
    """Return a phone number cleaned of spaces and punctuation, or None if it is not one."""
    phone = _PHONE_NOISE.sub("", text.strip())
    return phone if _PHONE.fullmatch(phone) else None


def _answers(ctx: Ctx) -> dict[str, Any]:
    """Return the checkout's answers so far."""
    return ctx.data(FLOW)


def _only(answers: dict[str, Any]) -> tuple[int, int] | None:
    """Return the (product, quantity) bought at once ("Buy now"), or None for the whole cart."""
    only = answers.get("only")
    if only is None:
        return None
    product_id, quantity = only
    return int(product_id), int(quantity)


def _ask_again(ctx: Ctx, body: str) -> list[Reply]:
    """Say what is wrong with a typed answer; the question stays, with a way out."""
    return [ctx.text(body, [[_cancel(ctx)]])]


def _cancel(ctx: Ctx) -> Button:
    return Button("✕ " + ctx._("Cancel"), a.CHECKOUT_CANCEL)


def _option_label(ctx: Ctx, option: DeliveryOption, priced: Totals) -> str:
    """Return an option's name and what it costs on this order."""
    cost = ctx.money(priced.delivery, priced.currency) if priced.delivery else ctx._("free")
    return f"{delivery_name(ctx.lang, ctx.shop.orders.delivery, option.id)} — {cost}"
