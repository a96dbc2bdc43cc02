"""Following an order in Telegram, end to end: `chatshop run` against a fake Bot API on loopback.

A customer whose Telegram speaks Russian finds a phone and pays Telegram's card
invoice; staff move the order on from their own processes (`chatshop orders
set-status`), as they would beside the running shop. The customer is told of
each step once, in Russian, the shipped one with a link to the parcel; the staff
chat is told of the paid order once. That holds across a kill -9 and when
Telegram asks the bot to slow down.

"Once" is counted after the shop's outbox holds nothing more to send (read from
its database): every message it had to send has reached the fake Bot API by
then, and no other will.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fake_telegram import Call, FakeBotAPI
from tests.telegram_e2e_support import ANN, Running, charged, chat_message, running, user

STAFF = 5_550_900
TRACKING = "JD014600006281"
DHL = "https://www.dhl.com/track?id={number}"
ADDRESS = {
    "country_code": "RU",
    "state": "",
    "city": "Москва",
    "street_line1": "ул. Тверская, 7",
    "street_line2": "",
    "post_code": "125009",
}
ORDER_INFO = {"name": "Анна Иванова", "phone_number": "+79161234567", "shipping_address": ADDRESS}
# What a Russian reader sees for each step (locales/ru): the words checked, as a user reads them.
PAID = "Оплата получена"
PACKED = "Собран"
SHIPPED = "Отправлен"
DELIVERED = "Доставлен"
TIMELINE = "История заказа:"
ENGLISH = re.compile(r"\b(Order|Payment|Paid|Packed|Shipped|Delivered|Timeline|tracking)\b")


@pytest.fixture
async def shop(tmp_path: Path, demo_database: Path) -> AsyncIterator[Running]:
    """The shop polling the fake Bot API, with a staff member and DHL's tracking page."""
    async with running(
        tmp_path,
        demo_database,
        webhook=False,
        ADMIN_TELEGRAM_IDS=str(STAFF),
        TRACKING_URLS=json.dumps({"DHL": DHL}),
    ) as started:
        yield started


@dataclass(frozen=True)
class Paid:
    """An order the customer paid, as they and Telegram saw it."""

    number: int
    total: int  # what Telegram charged, in cents
    since: int  # the fake's call log before the payment arrived


def messages_to(api: FakeBotAPI, chat: int, *, since: int) -> list[Call]:
    """The messages Telegram took for `chat` after `since` (a refused call has no result)."""
    return [
        c
        for c in api.calls[since:]
        if c.method in ("sendMessage", "sendPhoto")
        and int(c["chat_id"]) == chat
        and c.result is not None
    ]


def in_russian(message: Call) -> bool:
    """Tell whether a message and its buttons read as Russian: Cyrillic words, no English of ours."""
    shown = "\n".join([message.words, *(b["text"] for b in message.buttons)])
    return bool(re.search("[а-яё]{4}", shown, re.IGNORECASE)) and not ENGLISH.search(shown)


async def pay_in_russian(shop: Running) -> Paid:
    """Find the phone with a half-typed Russian query, Buy now, and pay the invoice, by post."""
    api = shop.api
    found = await shop.say("iphone 16 pro 128 черн", expect="Найдено", language="ru")
    (product,) = [b for b in found.buttons if "iPhone 16 Pro 128 ГБ" in b["text"]]
    card = await shop.press(found, product, expect="128 ГБ, чёрный титан", language="ru")
    since = api.mark()
    await shop.press(card, card.button("buy"), language="ru")
    invoice = await api.wait_for(lambda c: c.method == "sendInvoice", since=since)
    assert invoice["title"].startswith("Заказ №")
    number = int(invoice["title"].removeprefix("Заказ №"))

    since = api.mark()
    await shop.send(
        shipping_query={
            "id": "sq-1",
            "from": user(language="ru"),
            "invoice_payload": invoice["payload"],
            "shipping_address": ADDRESS,
        }
    )
    offered = await api.wait_for(lambda c: c.method == "answerShippingQuery", since=since)
    post = next(o for o in offered["shipping_options"] if o["id"] == "post")
    assert post["title"] == "Почта"
    total = sum(p["amount"] for p in invoice["prices"]) + post["prices"][0]["amount"]

    since = api.mark()
    form = {
        "currency": "USD",
        "total_amount": total,
        "invoice_payload": invoice["payload"],
        "shipping_option_id": "post",
        "order_info": ORDER_INFO,
    }
    await shop.send(pre_checkout_query={"id": "pcq-1", "from": user(language="ru"), **form})
    answered = await api.wait_for(lambda c: c.method == "answerPreCheckoutQuery", since=since)
    assert answered["ok"] == "true", answered.fields

    since = api.mark()
    await shop.send(message=chat_message(language="ru", successful_payment=charged(form)))
    await shop.reply(since, PAID)
    return Paid(number, total, since)


async def set_status(shop: Running, number: int, *args: str) -> int:
    """Move the order on from another process, as staff do; return the fake's log position before."""
    since = shop.api.mark()
    await shop.staff("orders", "set-status", str(number), *args)
    return since


async def test_a_russian_customer_is_told_each_step_once_and_the_staff_the_paid_order(
    shop: Running,
) -> None:
    api = shop.api
    paid = await pay_in_russian(shop)
    await shop.all_told()

    (alert,) = messages_to(api, STAFF, since=paid.since)
    assert alert.words.splitlines() == [
        f"💰 New paid order #{paid.number}: ${paid.total / 100:,.2f}",
        "• Apple iPhone 16 Pro 128GB Black Titanium × 1",
    ]
    (confirmation,) = messages_to(api, ANN, since=paid.since)
    assert f"{PAID}, спасибо! Заказ №{paid.number} оплачен." in confirmation.words
    assert TIMELINE in confirmation.words
    assert in_russian(confirmation), confirmation.fields

    since = await set_status(shop, paid.number, "packed")
    await shop.all_told()
    (packed,) = messages_to(api, ANN, since=since)
    assert packed.words.startswith(f"Заказ №{paid.number}: {PACKED}.")
    assert in_russian(packed), packed.fields

    since = await set_status(
        shop, paid.number, "shipped", "--tracking", TRACKING, "--carrier", "DHL"
    )
    await shop.all_told()
    (shipped,) = messages_to(api, ANN, since=since)
    assert shipped.words.startswith(f"Заказ №{paid.number}: {SHIPPED}.")
    assert f"DHL, трек-номер {TRACKING}" in shipped.words
    assert in_russian(shipped), shipped.fields
    (track,) = [b for b in shipped.buttons if "url" in b]
    assert track["url"] == f"https://www.dhl.com/track?id={TRACKING}"
    assert "Отследить посылку" in track["text"]
    timeline = shipped.words.split(TIMELINE)[1]
    assert all(step in timeline for step in ("Оплачен", PACKED, SHIPPED)), timeline

    assert messages_to(api, STAFF, since=paid.since) == [alert]  # staff hear of the payment only


async def test_steps_set_while_the_shop_is_killed_are_told_once_each_after_the_restart(
    shop: Running,
) -> None:
    api = shop.api
    paid = await pay_in_russian(shop)
    await shop.all_told()
    assert len(messages_to(api, ANN, since=paid.since)) == 1
    assert len(messages_to(api, STAFF, since=paid.since)) == 1

    await shop.kill()  # kill -9: no chance to tidy anything up
    down = api.mark()
    await set_status(shop, paid.number, "packed")
    await set_status(shop, paid.number, "shipped", "--tracking", TRACKING)
    await set_status(shop, paid.number, "delivered")
    await shop.start()
    await shop.reply(down, DELIVERED)
    await shop.all_told()

    told = messages_to(api, ANN, since=down)
    assert [m.words.splitlines()[0] for m in told] == [
        f"Заказ №{paid.number}: {PACKED}.",
        f"Заказ №{paid.number}: {SHIPPED}.",
        f"Заказ №{paid.number}: {DELIVERED}.",
    ]
    assert f"Трек-номер {TRACKING}" in told[1].words  # shipped without a carrier: no link
    assert not [b for b in told[1].buttons if "url" in b]
    assert not messages_to(api, STAFF, since=down)  # the paid order is not announced again


async def test_flood_control_is_waited_out_and_the_step_is_told_once(shop: Running) -> None:
    api = shop.api
    paid = await pay_in_russian(shop)
    await shop.all_told()
    api.refuse("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    since = await set_status(shop, paid.number, "packed")
    await shop.all_told()

    refused, taken = [c for c in api.of("sendMessage", since=since) if int(c["chat_id"]) == ANN]
    assert refused.result is None
    assert taken.at - refused.at >= 1.0  # not before the second Telegram asked for
    assert messages_to(api, ANN, since=since) == [taken]
    assert taken.words.startswith(f"Заказ №{paid.number}: {PACKED}.")
