"""Telegram invoices by Telegram's rules, a payload nobody can forge, and charges settled exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings, TelegramSettings
from payments.interface import (
    Outcome,
    PaymentError,
    RefundReason,
    StartRequest,
    TelegramInvoice,
)
from payments.sandbox import SANDBOX
from payments.telegram import (
    PAYLOAD_LIMIT,
    STARS,
    TELEGRAM,
    TELEGRAM_STARS,
    PreCheckout,
    SuccessfulPayment,
    stars_for,
)
from shop.migrate import upgrade
from shop.views import OrderView
from tests.conftest import FakeClock
from tests.fake_telegram import FakeBotAPI, fake_bot_api
from tests.payment_support import Heard, pending_order, state

PROVIDER_TOKEN = "284685063:TEST:chatshop"


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotAPI]:
    async with fake_bot_api() as api:
        yield api


@pytest.fixture
async def tg_shop(sqlite_url: str, clock: FakeClock, bot_api: FakeBotAPI) -> AsyncIterator[Shop]:
    """A Telegram shop with a BotFather payment provider token and Stars at 50 per dollar."""
    settings = Settings(
        database_url=sqlite_url,
        telegram=TelegramSettings(
            bot_token=bot_api.token,
            api_url=bot_api.url,
            payment_provider_token=PROVIDER_TOKEN,
            stars_rate=Decimal(50),
        ),
    )
    shop = build_shop(settings, clock=clock)
    await upgrade(shop.db)
    yield shop
    await shop.payments.close()
    await shop.db.dispose()


def refunds(bot_api: FakeBotAPI) -> list[tuple[int, str]]:
    """The Stars refunds Telegram made for the bot."""
    return [
        (call["user_id"], call["telegram_payment_charge_id"])
        for call in bot_api.of("refundStarPayment")
        if call.result is not None
    ]


def charge(
    invoice_payload: str, amount: int, currency: str, charge_id: str, user_id: int = 1
) -> SuccessfulPayment:
    return SuccessfulPayment(
        user_id=user_id,
        currency=currency,
        total_amount=amount,
        invoice_payload=invoice_payload,
        telegram_payment_charge_id=charge_id,
        provider_payment_charge_id=f"prov_{charge_id}",
    )


async def invoiced(shop: Shop, **order: Any) -> tuple[OrderView, TelegramInvoice]:
    """An order waiting for payment and the Telegram invoice for it."""
    placed = await pending_order(shop, **order)
    invoice = (await shop.payments.start(placed.id)).invoice
    assert invoice is not None
    return placed, invoice


async def paid_in_stars(shop: Shop) -> tuple[OrderView, TelegramInvoice]:
    """A digital order, paid in Stars by user 42 (charge stars-1)."""
    order, invoice = await invoiced(shop, sku="EBOOK", price=999, quantity=1, digital=True)
    fact = charge(invoice.payload, 500, STARS, "stars-1", user_id=42)
    assert (await shop.payments.telegram.paid(fact)).outcome is Outcome.PAID
    return order, invoice


async def test_physical_goods_get_a_card_invoice_with_labelled_lines(tg_shop: Shop) -> None:
    shop = tg_shop
    order = await pending_order(shop, price=1_250, quantity=3)

    start = await shop.payments.start(order.id, locale="ru")

    invoice = start.invoice
    assert invoice is not None
    assert start.url is None
    assert start.provider == TELEGRAM
    assert invoice.provider_token == PROVIDER_TOKEN
    assert invoice.currency == "USD"
    assert invoice.title == f"Заказ №{order.id}"
    assert invoice.prices[0].label == "Product A × 3"
    assert invoice.prices[0].amount == 3_750
    assert invoice.total == order.total == start.amount
    assert len(invoice.payload.encode()) <= PAYLOAD_LIMIT
    assert not invoice.need_shipping_address
    assert not invoice.is_flexible


async def test_delivery_and_discount_are_lines_of_their_own(tg_shop: Shop) -> None:
    shop = tg_shop
    order = await pending_order(shop, price=1_000, quantity=1)
    # An order with a discount and a paid delivery, as the invoice receives it.
    details = await shop.orders.get(order.id)
    request_order = replace(
        details.order, discount=200, delivery_price=350, total=1_000 - 200 + 350
    )
    provider = shop.payments.providers[TELEGRAM]
    started = await provider.start(
        StartRequest(
            payment_id=1,
            order=request_order,
            lines=details.lines,
            amount=request_order.total,
            currency="USD",
            page_url="http://x/pay/t",
            reference="t" * 32,
            return_url=None,
            expires_at=order.reserved_until,
            now=order.created_at,
            locale="en",
        )
    )
    assert started.invoice is not None
    labels = [(p.label, p.amount) for p in started.invoice.prices]
    assert labels == [("Product A × 1", 1_000), ("Discount", -200), ("Delivery", 350)]
    assert started.invoice.total == 1_150


async def test_digital_goods_are_paid_in_stars_with_one_line_and_no_token(tg_shop: Shop) -> None:
    order = await pending_order(tg_shop, sku="EBOOK", price=999, quantity=1, digital=True)

    start = await tg_shop.payments.start(order.id)

    invoice = start.invoice
    assert invoice is not None
    assert (start.provider, start.currency, start.amount) == (TELEGRAM_STARS, STARS, 500)
    assert invoice.currency == "XTR"
    assert invoice.provider_token == ""
    assert len(invoice.prices) == 1
    assert invoice.total == 500


def test_stars_conversion_rounds_up_to_whole_stars() -> None:
    assert stars_for(999, "USD", Decimal(50)) == 500  # 499.5 -> 500
    assert stars_for(1, "USD", Decimal(50)) == 1
    assert stars_for(100, "JPY", Decimal("0.34")) == 34
    assert stars_for(12_990, "RUB", Decimal("0.6")) == 78


async def test_without_a_provider_token_physical_goods_are_paid_by_link(shop: Shop) -> None:
    order = await pending_order(shop)
    start = await shop.payments.start(order.id)
    assert (start.provider, start.invoice) == (SANDBOX, None)
    assert start.url is not None


async def test_pre_checkout_says_yes_to_a_payable_invoice_and_no_with_reasons(
    tg_shop: Shop, clock: FakeClock
) -> None:
    shop = tg_shop
    _order, invoice = await invoiced(shop, stock=2, quantity=2)

    def query(**changes: object) -> PreCheckout:
        values: dict[str, object] = {
            "query_id": "q1",
            "user_id": 1,
            "currency": invoice.currency,
            "total_amount": invoice.total,
            "invoice_payload": invoice.payload,
        }
        values.update(changes)
        return PreCheckout(**values)  # type: ignore[arg-type]

    assert (await shop.payments.telegram.pre_checkout(query())).ok
    wrong = await shop.payments.telegram.pre_checkout(query(total_amount=1), locale="ru")
    assert (wrong.ok, wrong.error_message) == (
        False,
        "Сумма не совпадает с заказом. Попросите новый счёт.",
    )
    forged = await shop.payments.telegram.pre_checkout(
        query(invoice_payload=invoice.payload[:-1] + ("B" if invoice.payload[-1] == "A" else "A"))
    )
    assert not forged.ok
    assert forged.error_message == "This invoice is not valid. Please ask for a new one."

    clock.advance(hours=1)
    await shop.orders.expire_holds()
    assert (
        await shop.payments.telegram.pre_checkout(query())
    ).ok  # stock still there: re-reservable
    rival = await pending_order(shop, customer="2", quantity=2)
    assert rival.status == "pending_payment"
    sold_out = await shop.payments.telegram.pre_checkout(query())
    assert not sold_out.ok
    assert sold_out.error_message is not None
    assert "sold out" in sold_out.error_message


async def test_pre_checkout_refuses_an_order_already_paid(tg_shop: Shop) -> None:
    shop = tg_shop
    _order, invoice = await invoiced(shop)
    await shop.payments.telegram.paid(charge(invoice.payload, invoice.total, "USD", "tg-1"))

    answer = await shop.payments.telegram.pre_checkout(
        PreCheckout("q2", 1, invoice.currency, invoice.total, invoice.payload)
    )
    assert (answer.ok, answer.error_message) == (False, "This order is already paid.")


async def test_a_payload_cannot_be_forged_into_another_order_or_amount(tg_shop: Shop) -> None:
    shop = tg_shop
    cheap = await pending_order(shop, sku="CHEAP", price=100, quantity=1)
    dear = await pending_order(shop, sku="DEAR", price=90_000, quantity=1, customer="2")
    cheap_invoice = (await shop.payments.start(cheap.id)).invoice
    dear_start = await shop.payments.start(dear.id)
    assert cheap_invoice is not None
    before = await state(shop, dear.id)
    codec = await shop.payments.telegram.payload_codec()
    payload = codec.read(cheap_invoice.payload)
    assert payload is not None
    forgeries = [
        cheap_invoice.payload.replace(f"o{cheap.id}.", f"o{dear.id}."),
        cheap_invoice.payload.replace(f"p{payload.payment_id}o", f"p{dear_start.payment_id}o"),
        f"p{dear_start.payment_id}o{dear.id}.{payload.mac}",
    ]

    for n, forged in enumerate(forgeries):
        result = await shop.payments.telegram.paid(charge(forged, 100, "USD", f"forged-{n}"))
        assert result.outcome is Outcome.UNKNOWN_ORDER
    assert await state(shop, dear.id) == before
    assert codec.check(payload, 100, "USD")
    assert not codec.check(payload, 90_000, "USD")


async def test_the_same_telegram_charge_twice_pays_once(tg_shop: Shop) -> None:
    shop = tg_shop
    order, invoice = await invoiced(shop, stock=5, quantity=2)
    heard = await Heard.start(shop)
    fact = charge(invoice.payload, invoice.total, invoice.currency, "tg-charge-1")

    first = await shop.payments.telegram.paid(fact)
    second = await shop.payments.telegram.paid(fact)

    assert (first.outcome, second.outcome) == (Outcome.PAID, Outcome.DUPLICATE)
    after = await state(shop, order.id)
    assert after["order"] == ("paid", "committed")
    assert after["stock"] == [("A", 3, 2)]
    assert after["analytics"]["paid"] == 1
    assert (await heard.said()).count("paid") == 1
    (payment,) = await shop.payments.payments_for(order.id)
    assert (payment.external_id, payment.charge_id) == ("tg-charge-1", "prov_tg-charge-1")


async def test_a_second_stars_charge_for_a_paid_order_is_refunded_through_telegram(
    tg_shop: Shop, bot_api: FakeBotAPI
) -> None:
    shop = tg_shop
    order, invoice = await paid_in_stars(shop)
    paid_state = await state(shop, order.id)

    second = await shop.payments.telegram.paid(
        charge(invoice.payload, 500, STARS, "stars-2", user_id=42)
    )
    again = await shop.payments.telegram.paid(
        charge(invoice.payload, 500, STARS, "stars-2", user_id=42)
    )

    assert (second.outcome, second.reason) == (Outcome.REFUNDED, RefundReason.ALREADY_PAID)
    assert again.outcome is Outcome.DUPLICATE
    assert refunds(bot_api) == [(42, "stars-2")]
    assert await state(shop, order.id) == paid_state
    statuses = [(p.external_id, p.status) for p in await shop.payments.payments_for(order.id)]
    assert statuses == [("stars-1", "succeeded"), ("stars-2", "refunded")]


async def test_a_stars_payment_is_refunded_on_request_through_the_same_interface(
    tg_shop: Shop, bot_api: FakeBotAPI
) -> None:
    shop = tg_shop
    order, _invoice = await paid_in_stars(shop)

    refunded = await shop.payments.settlement.refund(order.id, actor="staff")

    assert refunds(bot_api) == [(42, "stars-1")]
    assert refunded.status == "refunded"
    assert (await state(shop, order.id))["order"][0] == "refunded"


async def test_a_stars_charge_telegram_refunded_already_counts_as_refunded(
    tg_shop: Shop, bot_api: FakeBotAPI
) -> None:
    # A refund whose answer was lost (a crash, a timeout) is asked again: Telegram says
    # it is refunded already, and that is the answer we wanted.
    shop = tg_shop
    order, _invoice = await paid_in_stars(shop)
    bot_api.refunded.add("stars-1")

    refunded = await shop.payments.settlement.refund(order.id)

    assert refunded.status == "refunded"
    assert bot_api.refunded == {"stars-1"}
    assert (await state(shop, order.id))["order"][0] == "refunded"


async def test_a_stars_refund_telegram_does_not_answer_is_tried_again_later(
    tg_shop: Shop, bot_api: FakeBotAPI, clock: FakeClock
) -> None:
    shop = tg_shop
    order, invoice = await paid_in_stars(shop)
    bot_api.refuse("refundStarPayment", 429, "Too Many Requests: retry after 5", retry_after=5)

    second = await shop.payments.telegram.paid(charge(invoice.payload, 500, STARS, "stars-2"))

    assert second.outcome is Outcome.REFUND_PENDING
    pending = (await shop.payments.payments_for(order.id))[-1]
    assert (pending.status, pending.attempts) == ("refunding", 1)
    assert pending.retry_at is not None
    assert pending.retry_at > clock.now

    clock.now = pending.retry_at
    await shop.payments.settlement.recover()

    assert refunds(bot_api) == [(1, "stars-2")]
    statuses = [(p.external_id, p.status) for p in await shop.payments.payments_for(order.id)]
    assert statuses == [("stars-1", "succeeded"), ("stars-2", "refunded")]


async def test_card_payments_are_refunded_at_the_provider_by_staff(tg_shop: Shop) -> None:
    shop = tg_shop
    order, invoice = await invoiced(shop)
    await shop.payments.telegram.paid(charge(invoice.payload, invoice.total, "USD", "tg-1"))

    with pytest.raises(PaymentError, match="provider's dashboard"):
        await shop.payments.settlement.refund(order.id)
    assert (await state(shop, order.id))["order"][0] == "paid"
    (payment,) = await shop.payments.payments_for(order.id)
    assert payment.status == "succeeded"
