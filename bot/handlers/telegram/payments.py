"""Payments by Telegram's rules: shipping options, the pre-checkout answer, the successful payment.

Telegram asks before money moves (`pre_checkout_query`, to be answered within ten
seconds) and reports after (`successful_payment`); `payments.PaymentService`
decides both from the order in the database. A flexible invoice asks for the
delivery options first (`shipping_query`), priced by the shop's delivery rules.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Router
from aiogram.types import (
    LabeledPrice,
    Message,
    PreCheckoutQuery,
    ShippingAddress,
    ShippingOption,
    ShippingQuery,
)

from bot.flows.engine import Conversations, Who
from bot.flows.orders import delivery_name
from bot.handlers.telegram.errors import TRY_AGAIN
from bot.handlers.telegram.filters import with_payment
from bot.services import Shop
from payments.interface import Outcome
from payments.telegram import PreCheckout, PreCheckoutAnswer, SuccessfulPayment
from payments.telegram_checkout import CANNOT_SHIP
from shop.i18n import Language, pick_locale

log = logging.getLogger(__name__)

# Telegram cancels the payment if the pre-checkout answer takes longer than 10 s.
ANSWER_WITHIN = 7.0


def build_router() -> Router:
    """Return this feature's router."""
    router = Router(name=__name__)
    router.shipping_query.register(shipping)
    router.pre_checkout_query.register(pre_checkout)
    router.message.register(paid, with_payment)
    return router


async def shipping(
    query: ShippingQuery, who: Who, conversations: Conversations, shop: Shop
) -> None:
    """Offer the shop's delivery options, priced for this order, in Telegram's payment form."""
    lang = Language(await conversations.locale_of(who))
    choices = await shop.payments.telegram.shipping(query.invoice_payload)
    if not choices:
        await query.answer(ok=False, error_message=lang._(CANNOT_SHIP))
        return
    options = []
    for choice in choices:
        label = delivery_name(lang, shop.orders.delivery, choice.option_id)  # as the chat names it
        prices = [LabeledPrice(label=label, amount=choice.price)]
        options.append(ShippingOption(id=choice.option_id, title=label, prices=prices))
    await query.answer(ok=True, shipping_options=options)


async def pre_checkout(
    query: PreCheckoutQuery, who: Who, conversations: Conversations, shop: Shop
) -> None:
    """Say whether this invoice may be paid now, well within Telegram's ten seconds."""
    info = query.order_info
    facts = PreCheckout(
        query_id=query.id,
        user_id=query.from_user.id,
        currency=query.currency,
        total_amount=query.total_amount,
        invoice_payload=query.invoice_payload,
        shipping_option_id=query.shipping_option_id,
        name=info.name if info else None,
        phone=info.phone_number if info else None,
        address=_address(info.shipping_address) if info else None,
    )
    locale = pick_locale(who.language_code)
    try:
        async with asyncio.timeout(ANSWER_WITHIN):
            locale = await conversations.locale_of(who)
            answer = await shop.payments.telegram.pre_checkout(facts, locale=locale)
    except TimeoutError:
        log.error("pre-checkout %s took too long; refused so the customer can retry", query.id)
        answer = PreCheckoutAnswer(False, Language(locale)._(TRY_AGAIN))
    await query.answer(ok=answer.ok, error_message=None if answer.ok else answer.error_message)


async def paid(message: Message, shop: Shop) -> None:
    """Settle a payment Telegram took: the order is paid once, however often this arrives."""
    money = message.successful_payment
    assert money is not None
    payer = message.from_user.id if message.from_user else message.chat.id
    confirmation = await shop.payments.telegram.paid(
        SuccessfulPayment(
            user_id=payer,
            currency=money.currency,
            total_amount=money.total_amount,
            invoice_payload=money.invoice_payload,
            telegram_payment_charge_id=money.telegram_payment_charge_id,
            provider_payment_charge_id=money.provider_payment_charge_id,
        )
    )
    if confirmation.outcome is not Outcome.PAID:
        log.warning(
            "Telegram charge for order %s: %s",
            confirmation.order_id,
            confirmation.outcome.value,
        )


def _address(address: ShippingAddress | None) -> str | None:
    """Return a shipping address from Telegram's form as one line."""
    if address is None:
        return None
    parts = (
        address.country_code,
        address.state,
        address.post_code,
        address.city,
        address.street_line1,
        address.street_line2,
    )
    return ", ".join(part for part in parts if part)
