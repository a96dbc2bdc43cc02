"""Payments by Telegram's rules through the dispatcher: invoice, shipping, pre-checkout, payment.

The money facts come in as real updates; `payments/` decides from the order in
the database. A successful payment delivered twice pays once, and the customer
hears about it once (the order-change push with the timeline).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.handlers.telegram import payments as telegram_payments
from payments.interface import PaymentStatus
from shop.models import Channel
from tests.conftest import FakeClock, row
from tests.fake_telegram import fake_bot_api
from tests.telegram_support import (
    TOKEN,
    USER_ID,
    Harness,
    Sent,
    buy,
    last_message,
    message_json,
    telegram_shop,
    user_json,
)

EBOOK = row("EBOOK", title="Field guide", digital=True)


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Harness]:
    async with telegram_shop(sqlite_url, clock, rows=[EBOOK]) as harness:
        yield harness


def pre_checkout(
    invoice: Sent, *, user: int = USER_ID, language: str = "en", **changes: Any
) -> dict[str, Any]:
    query = {
        "id": "pcq1",
        "from": user_json(user, language=language),
        "currency": invoice["currency"],
        "total_amount": sum(p["amount"] for p in invoice["prices"]),
        "invoice_payload": invoice["payload"],
    }
    query.update(changes)
    return query


def successful_payment(
    invoice: Sent, charge: str = "tg-charge-1", **changes: Any
) -> dict[str, Any]:
    paid = {
        "currency": invoice["currency"],
        "total_amount": sum(p["amount"] for p in invoice["prices"]),
        "invoice_payload": invoice["payload"],
        "telegram_payment_charge_id": charge,
        "provider_payment_charge_id": f"prov-{charge}",
    }
    paid.update(changes)
    return message_json(successful_payment=paid)


async def order_of(tg: Harness, user: int = USER_ID) -> Any:
    customer = await tg.shop.customers.find(Channel.TELEGRAM, str(user))
    assert customer is not None
    assert customer.id is not None
    orders = await tg.shop.orders.list_for_customer(customer.id)
    assert len(orders) == 1
    return orders[0]


async def test_an_invoice_is_paid_once_and_the_customer_told_once(tg: Harness) -> None:
    invoice = await buy(tg)
    assert invoice.method == "sendInvoice"
    assert invoice["currency"] == "USD"
    assert invoice["provider_token"] == "284685063:TEST:chatshop"
    assert invoice["prices"] == [
        {"label": "Apple iPhone 16 Pro 128GB Black Titanium × 1", "amount": 99_900}
    ]

    answer = await tg.feed(pre_checkout_query=pre_checkout(invoice))
    assert [(s.method, s["ok"]) for s in answer] == [("answerPreCheckoutQuery", "true")]

    assert await tg.feed(message=successful_payment(invoice)) == []
    told = await tg.delivered()  # the push, sent by the delivery worker
    assert [s.method for s in told] == ["sendMessage"]
    assert "Payment received" in told[0]["text"]
    assert "Timeline" in told[0]["text"]
    order = await order_of(tg)
    assert order.status == "paid"

    await tg.feed(message=successful_payment(invoice))
    assert await tg.delivered() == []  # nothing to say: it was paid, and said, already
    payments = await tg.shop.payments.payments_for(order.id)
    assert [p.status for p in payments] == [PaymentStatus.SUCCEEDED]
    assert (await order_of(tg)).status == "paid"


async def test_pre_checkout_refuses_with_a_reason_in_the_customers_language(
    tg: Harness,
) -> None:
    invoice = await buy(tg, language="ru")

    wrong = await tg.feed(pre_checkout_query=pre_checkout(invoice, language="ru", total_amount=100))
    assert wrong[0]["ok"] == "false"
    assert wrong[0]["error_message"] == "Сумма не совпадает с заказом. Попросите новый счёт."

    forged = await tg.feed(
        pre_checkout_query=pre_checkout(
            invoice, language="ru", invoice_payload="p1o1.AAAAAAAAAAAAAAAAAAAAAA"
        )
    )
    assert forged[0]["ok"] == "false"
    assert "недействителен" in forged[0]["error_message"]


async def test_pre_checkout_is_answered_in_time_even_when_the_shop_is_slow(
    tg: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice = await buy(tg)
    monkeypatch.setattr(telegram_payments, "ANSWER_WITHIN", 0.3)
    buyer = {"name": "Ann Lee", "phone_number": "+15550001234"}

    # Another process holds the database's write lock (a long import, say) for longer
    # than Telegram waits: the customer is told to try again instead of left hanging.
    other = sqlite3.connect(tmp_path / "shop.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        answer = await tg.feed(pre_checkout_query=pre_checkout(invoice, order_info=buyer))
    finally:
        other.rollback()
        other.close()

    assert answer[0]["ok"] == "false"
    assert "try again" in answer[0]["error_message"]
    again = await tg.feed(pre_checkout_query=pre_checkout(invoice, order_info=buyer))
    assert again[0]["ok"] == "true"


async def test_a_flexible_invoice_is_priced_by_the_delivery_rules_and_paid_in_full(
    tg: Harness,
) -> None:
    invoice = await buy(tg, "ANK-511-30W-WHT")  # a charger: courier is not free for it
    order = await order_of(tg)
    goods = order.subtotal - order.discount
    address = {
        "country_code": "US",
        "state": "NY",
        "city": "New York",
        "street_line1": "1 Main St",
        "street_line2": "",
        "post_code": "10001",
    }

    offered = await tg.feed(
        shipping_query={
            "id": "sq1",
            "from": user_json(),
            "invoice_payload": invoice["payload"],
            "shipping_address": address,
        }
    )

    assert offered[0].method == "answerShippingQuery"
    assert offered[0]["ok"] == "true"
    options = {o["id"]: o for o in offered[0]["shipping_options"]}
    assert set(options) == {"pickup", "courier", "post"}
    assert options["courier"]["title"] == "Courier"
    assert options["courier"]["prices"][0]["amount"] == (500 if goods < 5_000 else 0)
    courier = options["courier"]["prices"][0]["amount"]

    total = goods + courier
    answer = await tg.feed(
        pre_checkout_query=pre_checkout(
            invoice,
            total_amount=total,
            shipping_option_id="courier",
            order_info={
                "name": "Ann Lee",
                "phone_number": "+15550001234",
                "shipping_address": address,
            },
        )
    )
    assert answer[0]["ok"] == "true"
    placed = await order_of(tg)
    assert (placed.delivery_method, placed.total) == ("courier", total)
    assert placed.delivery_address == "US, NY, 10001, New York, 1 Main St"

    await tg.feed(message=successful_payment(invoice, total_amount=total))
    assert (await order_of(tg)).status == "paid"


async def test_a_shipping_query_for_goods_that_do_not_ship_is_refused(tg: Harness) -> None:
    invoice = await buy(tg, "EBOOK")
    refused = await tg.feed(
        shipping_query={
            "id": "sq1",
            "from": user_json(),
            "invoice_payload": invoice["payload"],
            "shipping_address": {
                "country_code": "US",
                "state": "",
                "city": "X",
                "street_line1": "Y",
                "street_line2": "",
                "post_code": "1",
            },
        }
    )
    assert refused[0]["ok"] == "false"
    assert "deliver" in refused[0]["error_message"]


async def test_digital_goods_are_paid_in_stars_and_refunded_through_the_bot_api(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with (
        fake_bot_api(TOKEN) as api,
        telegram_shop(sqlite_url, clock, rows=[EBOOK], api_url=api.url) as tg,
    ):
        await _pay_in_stars_and_refund(tg)
        # Telegram's own refundStarPayment, made by the shop itself: staff and recovery
        # refund Stars from any process, with or without the channel running there.
        (refund,) = api.of("refundStarPayment")
        assert (refund["user_id"], refund["telegram_payment_charge_id"]) == (USER_ID, "stars-7")
        assert (await order_of(tg)).status == "refunded"


async def _pay_in_stars_and_refund(tg: Harness) -> None:
    invoice = await buy(tg, "EBOOK")
    assert invoice.method == "sendInvoice"
    assert invoice["currency"] == "XTR"
    assert "provider_token" not in invoice  # Stars: no provider token
    assert len(invoice["prices"]) == 1

    await tg.feed(pre_checkout_query=pre_checkout(invoice))
    await tg.feed(message=successful_payment(invoice, charge="stars-7"))
    order = await order_of(tg)
    assert order.status == "paid"

    await tg.shop.payments.settlement.refund(order.id, note="changed their mind")


async def test_without_a_provider_token_physical_goods_get_a_test_payment_link_when_asked(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with telegram_shop(sqlite_url, clock, provider_token=None, sandbox=True) as tg:
        link = await buy(tg)
    assert "This is a test payment" in link["text"]
    assert link.method == "sendMessage"
    pay = link.buttons[0]
    assert pay["url"].startswith("http://127.0.0.1:8080/pay/")


async def test_without_a_provider_token_or_the_sandbox_nobody_gets_goods_for_nothing(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with telegram_shop(sqlite_url, clock, provider_token=None, staff_ids=(77,)) as tg:
        answer = await buy(tg)
        (alert,) = await tg.delivered()
        orders = await tg.shop.orders.list_orders()
    assert alert["chat_id"] == "77"
    assert answer.method == "sendMessage"
    assert "Sorry, we can't take payments here right now." in answer["text"]
    assert "/pay/" not in str(answer)
    assert "could not" in alert["text"]
    assert orders == []


@asynccontextmanager
async def database_down(url: str) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Refuse every connection to the database at `url` and drop those open; yield its revival."""
    name = make_url(url).database
    admin = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )

    async def revive() -> None:
        async with admin.connect() as conn:
            await conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))

    async with admin.connect() as conn:
        await conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        await conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": name},
        )
    try:
        yield revive
    finally:
        await revive()
        await admin.dispose()


class Logged(logging.Handler):
    """Sets `seen` once a log line containing `words` is written."""

    def __init__(self, words: str) -> None:
        super().__init__()
        self.words = words
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.words in record.getMessage():
            self.seen.set()


async def test_a_charge_told_while_the_database_is_down_is_recorded_when_it_is_back(
    postgres_url: str, clock: FakeClock
) -> None:
    # Telegram tells of a charge once: a passing failure of the database must not lose it.
    retrying = Logged("trying again")
    logging.getLogger("payments").addHandler(retrying)
    try:
        async with telegram_shop(postgres_url, clock) as tg:
            invoice = await buy(tg)
            await tg.feed(pre_checkout_query=pre_checkout(invoice))
            async with database_down(postgres_url) as revive:
                paying = asyncio.create_task(tg.feed(message=successful_payment(invoice)))
                async with asyncio.timeout(15):
                    await retrying.seen.wait()
                await revive()
                await paying
            assert (await order_of(tg)).status == "paid"
            told = await tg.delivered()
    finally:
        logging.getLogger("payments").removeHandler(retrying)
    assert "Payment received" in last_message(told)["text"]
