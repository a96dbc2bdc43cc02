"""Checkout and payment: the questions, remembered details, Buy now, and a restart in the middle."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_shop, delivery_rules
from bot.flows.context import Capabilities
from bot.flows.types import ContactRequest, Press
from bot.services import Shop
from bot.settings import (
    DeliveryOptionSetting,
    DeliverySettings,
    Settings,
    StripeSettings,
    TelegramSettings,
)
from payments.sandbox import SANDBOX
from payments.telegram import TELEGRAM, TELEGRAM_STARS
from shop.migrate import upgrade
from shop.models import Channel, PromoKind
from tests.conftest import FakeClock, row
from tests.flow_support import Chat, Pushed, chat, engine, stock_the_shop


@asynccontextmanager
async def shop_with(
    tmp_path: Path, clock: FakeClock, *, stocked: bool = True, **settings: Any
) -> AsyncIterator[Shop]:
    """A migrated shop set up by `settings`, with the test catalog on sale unless not `stocked`."""
    shop = build_shop(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'own.db'}", **settings),
        clock=clock,
    )
    try:
        await upgrade(shop.db)
        if stocked:
            await stock_the_shop(shop)
        yield shop
    finally:
        await shop.payments.close()
        await shop.db.dispose()


@pytest.fixture
async def card_shop(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Shop]:
    """A shop whose Telegram bot takes card payments (a BotFather provider token is set)."""
    telegram = TelegramSettings(bot_token="1:offline", payment_provider_token="284685063:TEST:t")
    async with shop_with(tmp_path, clock, telegram=telegram) as shop:
        yield shop


async def _cart_of_tea(customer: Chat) -> None:
    await customer.command("start", "p-TEA-2")
    await customer.tap("+")
    await customer.tap("+")
    await customer.tap("Add to cart")  # 3 × $12.50
    await customer.command("cart")


async def test_checkout_asks_phone_name_delivery_and_address_then_offers_the_payment_link(
    stocked: Shop,
) -> None:
    ann = chat(stocked, engine(stocked), Channel.WHATSAPP, "+15550100")
    await _cart_of_tea(ann)
    replies = await ann.tap("Checkout")
    # A channel without a "share my number" button is not told to press one.
    assert not any(isinstance(reply, ContactRequest) for reply in replies)
    assert ann.text == (
        "What phone number can we reach you on? Please type it with the country code."
    )
    await ann.say("call me maybe")
    assert "doesn't look like a phone number" in ann.text
    await ann.say("+44 (20) 7946-0000")
    assert ann.text == "And your name, for the order?"
    await ann.say("!!!")
    assert ann.text == "Please type your name in letters."
    await ann.say("Ann  Lee")
    assert "How should we deliver your order?" in ann.text
    assert ann.labels[:3] == ["Pickup from the shop — free", "Courier — $5.00", "Post — $3.50"]
    await ann.say("courier please")  # text where a choice is asked for
    assert "Please choose one of the options below." in ann.text
    await ann.tap("Courier")
    assert "Where should we deliver?" in ann.text
    await ann.say("x")
    assert "Please type the full address" in ann.text
    await ann.say("1 Main St, Springfield")
    payment = ann.payment
    assert payment.start.provider == SANDBOX
    assert payment.start.url
    assert payment.start.amount == 3 * 1_250 + 500
    assert "Order #1: 3 items, total $42.50." in payment.text
    assert payment.button_label == "Pay $42.50"
    order = (await stocked.orders.get(payment.start.order_id)).order
    assert (order.contact_name, order.contact_phone) == ("Ann Lee", "+442079460000")
    assert (order.delivery_method, order.delivery_address) == ("courier", "1 Main St, Springfield")
    await ann.command("cart")
    assert "Your cart is empty." in ann.text


async def test_a_shared_contact_gives_the_phone_and_the_name_at_once(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await _cart_of_tea(ann)
    await ann.tap("Checkout")
    await ann.share_phone("447911123456", "Ann")
    assert "How should we deliver your order?" in ann.text
    await ann.tap("Pickup")
    order = (await stocked.orders.get(ann.payment.start.order_id)).order
    assert (order.contact_name, order.contact_phone) == ("Ann", "+447911123456")
    assert order.delivery_address is None


async def test_a_channel_that_knows_the_number_asks_only_for_what_the_shop_lacks(
    stocked: Shop,
) -> None:
    whatsapp = Capabilities(knows_phone=True)  # the customer writes from their number
    ann = chat(stocked, engine(stocked), Channel.WHATSAPP, "15550100", name="Ann", can=whatsapp)
    await _cart_of_tea(ann)
    await ann.tap("Checkout")
    assert "How should we deliver your order?" in ann.text  # no phone, no name asked
    await ann.tap("Pickup")
    order = (await stocked.orders.get(ann.payment.start.order_id)).order
    assert (order.contact_name, order.contact_phone) == ("Ann", "+15550100")

    nameless = chat(stocked, engine(stocked), Channel.WHATSAPP, "15550101", name="", can=whatsapp)
    await _cart_of_tea(nameless)
    await nameless.tap("Checkout")
    assert nameless.text == "And your name, for the order?"


async def test_the_next_checkout_offers_the_same_details_in_one_tap(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await _cart_of_tea(ann)
    await ann.answer_checkout()
    await ann.tap("Post")
    await ann.say("1 Main St, Springfield")
    await _cart_of_tea(ann)
    await ann.tap("Checkout")
    assert ann.text.splitlines() == [
        "Use the same details as last time?",
        "Ann",
        "+15550100000",
        "1 Main St, Springfield",
    ]
    await ann.tap("Yes, use these")
    await ann.tap("Post")  # the address is the one shown: straight to payment
    order = (await stocked.orders.get(ann.payment.start.order_id)).order
    assert order.delivery_address == "1 Main St, Springfield"
    assert order.contact_phone == "+15550100000"


async def test_digital_goods_need_no_delivery_questions(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked), Channel.CONSOLE, "console")
    await ann.command("start", "p-GIFT")
    await ann.tap("Add to cart")
    await ann.command("cart")
    await ann.answer_checkout()
    order = (await stocked.orders.get(ann.payment.start.order_id)).order
    assert order.digital
    assert order.delivery_method == "none"
    assert order.delivery_price == 0


async def test_buy_now_on_telegram_goes_straight_to_the_invoice_and_keeps_the_cart(
    card_shop: Shop,
) -> None:
    ann = chat(card_shop, engine(card_shop))
    await ann.command("start", "p-TEA-1")
    await ann.tap("Add to cart")
    await ann.command("start", "p-CUP_s-poster")  # scan
    await ann.tap("Buy now")  # Buy now → Pay: nothing asked first
    invoice = ann.payment.start.invoice
    assert ann.payment.start.provider == TELEGRAM
    assert invoice is not None
    assert invoice.need_name
    assert invoice.need_phone_number
    assert invoice.need_shipping_address
    assert invoice.total == 129_990
    details = await card_shop.orders.get(ann.payment.start.order_id)
    assert [line.sku for line in details.lines] == ["CUP"]
    assert details.order.source == "poster"
    await ann.command("cart")
    assert "1. Green tea × 1 — $10.00" in ann.text  # what was in the cart stays there


async def test_buy_now_of_digital_goods_on_telegram_is_a_stars_invoice(card_shop: Shop) -> None:
    stocked = card_shop
    ann = chat(stocked, engine(stocked))
    await ann.command("start", "p-GIFT")
    await ann.tap("Buy now")
    assert ann.payment.start.provider == TELEGRAM_STARS
    assert ann.payment.start.currency == "XTR"


async def test_buy_now_elsewhere_asks_the_questions_and_buys_only_that_product(
    stocked: Shop,
) -> None:
    ann = chat(stocked, engine(stocked), Channel.WHATSAPP, "+15550100")
    await _cart_of_tea(ann)
    await ann.command("start", "p-TEA-1")
    await ann.tap("Buy now")
    await ann.say("+1 555 0100 000")
    await ann.say("Ann")
    await ann.tap("Pickup")
    details = await stocked.orders.get(ann.payment.start.order_id)
    assert [(line.sku, line.quantity) for line in details.lines] == [("TEA-1", 1)]
    await ann.command("cart")
    assert "Black tea × 3" in ann.text


async def test_a_restart_in_the_middle_of_checkout_continues_at_the_same_question(
    stocked: Shop,
) -> None:
    ann = chat(stocked, engine(stocked))
    await _cart_of_tea(ann)
    await ann.tap("Checkout")
    await ann.say("+1 555 0100 000")
    # The process restarts: a new engine over the same database.
    after = chat(stocked, engine(stocked))
    await after.say("Ann")
    assert "How should we deliver your order?" in after.text
    await after.tap("Pickup")
    order = (await stocked.orders.get(after.payment.start.order_id)).order
    assert (order.contact_name, order.contact_phone) == ("Ann", "+15550100000")


async def test_cancel_leaves_the_cart_and_old_checkout_buttons_change_nothing(
    stocked: Shop,
) -> None:
    ann = chat(stocked, engine(stocked))
    await _cart_of_tea(ann)
    await ann.answer_checkout()
    pickup = ann.button("Pickup").press()
    await ann.tap("Cancel")
    assert "Checkout cancelled. Your cart is kept." in ann.text
    await ann.send(pickup)  # a button of the abandoned checkout
    assert ann.text == "Sorry, that button is out of date. Here is the menu."
    assert await stocked.orders.list_for_customer((await ann.customer()).id or 0) == []
    await ann.command("cart")
    assert "Black tea × 3" in ann.text


async def test_the_pay_button_of_an_unpaid_order_offers_the_same_link_again(
    stocked: Shop,
) -> None:
    ann = chat(stocked, engine(stocked), Channel.WHATSAPP, "+15550100")
    await _cart_of_tea(ann)
    await ann.answer_checkout()
    await ann.tap("Pickup")
    first = ann.payment.start
    await ann.command("orders")
    await ann.tap("#1")
    assert "Order #1 — Waiting for payment" in ann.text
    await ann.tap("Pay")
    assert ann.payment.start.url == first.url


async def test_a_sold_out_product_at_checkout_is_refused_and_the_question_stays(
    stocked: Shop,
) -> None:
    ann = chat(stocked, engine(stocked))
    await _cart_of_tea(ann)
    await ann.answer_checkout()
    await stocked.catalog.set_stock("TEA-2", 1)
    await ann.tap("Pickup")
    assert ann.text == "Sorry, only 1 unit of Black tea is left."
    await stocked.catalog.set_stock("TEA-2", 10)
    await ann.send(Press("codlv", "pickup"))  # the same choice again: the question stayed
    assert ann.payment.start.amount == 3_750


async def test_an_order_whose_payment_cannot_start_is_kept_and_can_be_paid_later(
    tmp_path: Path, clock: FakeClock
) -> None:
    with socket.socket() as closed:  # a payment provider nobody answers at
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    async with shop_with(
        tmp_path,
        clock,
        stripe=StripeSettings(api_key="sk_test_unreachable", api_base=nowhere),
    ) as shop:
        ann = chat(shop, engine(shop), Channel.WHATSAPP, "+15550100")
        await _cart_of_tea(ann)
        await ann.answer_checkout()
        await ann.tap("Pickup")
        assert ann.text == "Order #1 is placed, but the payment couldn't be started."
        assert any("Pay" in label for label in ann.labels)
        await ann.command("orders")
        assert ann.labels[0] == "#1 · Waiting for payment · $37.50"


async def test_buy_now_with_a_promo_code_is_charged_what_the_delivery_options_said(
    stocked: Shop,
) -> None:
    # Courier is free from $50 of goods; 4 × $12.50 is $50 before the code and $45 after it.
    await stocked.promos.create("TEN", PromoKind.PERCENT, 10)
    ann = chat(stocked, engine(stocked), Channel.WHATSAPP, "+15550100")
    await ann.command("start", "promo-ten")
    await ann.command("start", "p-TEA-2")
    for _ in range(3):
        await ann.tap("+")
    await ann.tap("Buy now")
    await ann.say("+1 555 0100 000")
    await ann.say("Ann")

    assert "Courier — $5.00" in ann.labels  # was "Courier — free", then charged $5
    await ann.tap("Courier")
    await ann.say("1 Main St, Springfield")
    order = (await stocked.orders.get(ann.payment.start.order_id)).order
    assert (order.subtotal, order.discount, order.delivery_price) == (5_000, 500, 500)
    assert ann.payment.start.amount == order.total == 5_000


async def test_delivery_is_priced_as_the_owner_set_it_in_the_shops_currency(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with shop_with(
        tmp_path,
        clock,
        stocked=False,
        shop_currency="RUB",
        delivery=DeliverySettings(
            options=[
                DeliveryOptionSetting(id="pickup", address=False),
                DeliveryOptionSetting(
                    id="courier", price=Decimal(300), free_from=Decimal("5000.00")
                ),
                DeliveryOptionSetting(
                    id="sdek", price=Decimal("249.90"), name={"ru": "СДЭК", "en": "CDEK"}
                ),
            ],
            pickup_address="Москва, Тверская, 1",
        ),
    ) as shop:
        await shop.catalog.import_rows([row("KOFE", title="Кофе", price=45_000, currency="RUB")])
        ann = chat(shop, engine(shop), Channel.WHATSAPP, "+79990001122", language_code="ru")
        await ann.command("start", "p-KOFE")
        await ann.tap("Купить сейчас")
        await ann.say("+7 999 000 11 22")
        await ann.say("Аня")

        assert "Забрать можно по адресу: Москва, Тверская, 1" in ann.text
        assert ann.labels[:3] == [
            "Самовывоз из магазина — бесплатно",
            "Курьер — 300,00\xa0₽",
            "СДЭК — 249,90\xa0₽",
        ]
        await ann.tap("СДЭК")
        await ann.say("Москва, Арбат, 2")
        assert ann.payment.start.amount == 45_000 + 24_990


async def test_a_shop_in_another_currency_that_set_no_delivery_offers_pickup_only(
    tmp_path: Path,
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", shop_currency="RUB"
    )
    # The example prices are dollars: charged as roubles they would be made up.
    assert [option.id for option in delivery_rules(settings).options] == ["pickup"]
    usd = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert [(o.id, o.price) for o in delivery_rules(usd).options] == [
        ("pickup", 0),
        ("courier", 500),
        ("post", 350),
    ]


@pytest.mark.parametrize("sandbox", [None, False])
async def test_with_a_channel_and_no_real_provider_nobody_pays_through_the_sandbox(
    tmp_path: Path, clock: FakeClock, sandbox: bool | None
) -> None:
    async with shop_with(
        tmp_path,
        clock,
        telegram=TelegramSettings(bot_token="1:offline"),
        payments_sandbox=sandbox,
    ) as shop:
        conversations = engine(shop)
        ann = chat(shop, conversations)
        await _cart_of_tea(ann)
        staff = Pushed(shop, conversations, Channel.TELEGRAM, staff=("77",))

        await ann.tap("Checkout")

        assert "Sorry, we can't take payments here right now." in ann.text
        assert "your cart is kept" in ann.text
        (alert,) = await staff.texts(to="77")
        assert "could not" in alert
        assert "TELEGRAM_PAYMENT_PROVIDER_TOKEN" in alert
        assert await shop.orders.list_orders() == []  # no stock held for an order nobody can pay
        await ann.command("start", "p-CUP")
        await ann.tap("Buy now")
        assert "Sorry, we can't take payments here right now." in ann.text
        assert SANDBOX not in shop.payments.providers
        await ann.command("cart")
        assert "Black tea × 3" in ann.text


async def test_the_sandbox_beside_a_channel_takes_payments_only_when_asked_and_says_so(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with shop_with(
        tmp_path,
        clock,
        telegram=TelegramSettings(bot_token="1:offline"),
        payments_sandbox=True,
    ) as shop:
        ann = chat(shop, engine(shop))
        await _cart_of_tea(ann)
        await ann.answer_checkout()
        await ann.tap("Pickup")

        assert ann.payment.start.provider == SANDBOX
        assert "This is a test payment: no real money is charged." in ann.payment.text


async def test_a_name_or_address_too_long_is_answered_as_too_long(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await _cart_of_tea(ann)
    await ann.tap("Checkout")
    await ann.say("+1 555 0100 000")
    await ann.say("Ann " * 1250)
    assert ann.text == "That name is too long. Please keep it to 100 characters."
    await ann.say("Ann Lee")
    await ann.tap("Courier")
    await ann.say("1 Main St, Springfield " * 200)
    assert ann.text == "That address is too long. Please keep it to 300 characters."
    await ann.say("1 Main St, Springfield")
    order = (await stocked.orders.get(ann.payment.start.order_id)).order
    assert (order.contact_name, order.delivery_address) == ("Ann Lee", "1 Main St, Springfield")


async def test_too_long_is_said_in_russian_with_the_right_plural(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked), Channel.WHATSAPP, "+15550100", language_code="ru")
    await ann.command("start", "p-TEA-2")
    await ann.tap("Купить сейчас")
    await ann.say("+1 555 0100 000")
    await ann.say("Аня" * 2000)
    assert ann.text == "Имя слишком длинное. Пожалуйста, уложитесь в 100 символов."
