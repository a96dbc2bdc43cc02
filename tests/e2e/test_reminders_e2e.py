"""Reminders end to end: `chatshop run` against a fake Bot API on loopback, each told exactly once.

A cart left alone for CART_REMINDER_AFTER (3 hours) is reminded of once. The test
controls the shop's clock the only way a separate process allows: it moves the
cart's last change three hours into the past in the database while the shop is
stopped (as the WhatsApp tests move `last_inbound_at`); the shop looks for carts
when it starts and every minute after. A sold-out product's "Notify me" is told
once when staff bring stock back with `chatshop catalog import` from their own
process, and not again at the next import.

"Once" is counted after the shop's outbox holds nothing more to send (read from
its database): every message it had to send has reached the fake Bot API by then.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.db import Database
from shop.demo import __file__ as demo_module
from tests.fake_telegram import Call, FakeBotAPI
from tests.telegram_e2e_support import ANN, IPHONE, Running, poster_code, running

BOB = 5_550_002
LEFT_FOR = timedelta(hours=3, minutes=1)  # past the default CART_REMINDER_AFTER
REMINDER = "You left something in your cart:"
BACK = "Хорошая новость:"  # what a Russian reader is told when the phone is back


@pytest.fixture
async def shop(tmp_path: Path, demo_database: Path) -> AsyncIterator[Running]:
    """The shop polling the fake Bot API, with reminders after the default three hours."""
    async with running(tmp_path, demo_database, webhook=False) as started:
        yield started


def messages_to(api: FakeBotAPI, chat: int, words: str) -> list[Call]:
    """The messages Telegram took for `chat` that say `words`."""
    return [
        c
        for c in api.calls
        if c.method in ("sendMessage", "sendPhoto")
        and int(c["chat_id"]) == chat
        and c.result is not None
        and words in c.words
    ]


async def fill_a_cart(shop: Running, user_id: int) -> None:
    """Scan the phone's poster and put the phone in the cart."""
    card = await shop.say(f"/start {poster_code(IPHONE)}", expect="iPhone 16", user_id=user_id)
    await shop.press(card, card.button("add"), expect="Added")


async def leave_alone(shop: Running, user_id: int) -> None:
    """With the shop stopped, move the customer's cart LEFT_FOR into the past, and start it again.

    The customer may receive marketing (given at /start once broadcasts' consent is built).
    """
    await shop.stop()
    customer = select(t.customer.c.id).where(t.customer.c.external_id == str(user_id))

    def work(conn: Connection) -> None:
        customer_id = conn.execute(customer).scalar_one()
        conn.execute(
            update(t.customer).where(t.customer.c.id == customer_id).values(marketing_consent=True)
        )
        cart = t.cart.c
        changed = conn.execute(
            select(cart.updated_at).where(cart.customer_id == customer_id)
        ).scalar_one()
        conn.execute(
            update(t.cart)
            .where(cart.customer_id == customer_id)
            .values(updated_at=changed - LEFT_FOR)
        )

    db = Database(shop.database_url)
    try:
        await db.write(work)
    finally:
        await db.dispose()
    await shop.start()


async def test_a_cart_left_alone_is_reminded_of_once(shop: Running) -> None:
    api = shop.api
    await fill_a_cart(shop, ANN)
    await fill_a_cart(shop, BOB)

    await leave_alone(shop, ANN)
    await api.wait_for(lambda c: REMINDER in c.words and int(c["chat_id"]) == ANN)
    await shop.all_told()
    (reminder,) = messages_to(api, ANN, REMINDER)
    assert "• Apple iPhone 16 Pro 128GB Black Titanium × 1 — $999.00" in reminder.words
    assert reminder.button("cart")
    assert not messages_to(api, BOB, REMINDER)  # Bob's cart was changed three hours later

    await leave_alone(shop, BOB)  # the shop restarts and scans again: Bob's turn, not Ann's again
    await api.wait_for(lambda c: REMINDER in c.words and int(c["chat_id"]) == BOB)
    await shop.all_told()
    assert len(messages_to(api, BOB, REMINDER)) == 1
    assert messages_to(api, ANN, REMINDER) == [reminder]


def catalog_file(tmp_path: Path, stock: int) -> Path:
    """Write the phone's row of the demo catalog with `stock`, as staff would to restock it."""
    demo = Path(demo_module).with_name("catalog.csv")
    with demo.open(encoding="utf-8", newline="") as source:
        reader = csv.DictReader(source)
        phone = next(r for r in reader if r["sku"] == IPHONE)
        header = list(reader.fieldnames or [])
    path = tmp_path / f"restock-{stock}.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, header)
        writer.writeheader()
        writer.writerow({**phone, "stock": str(stock)})
    return path


async def test_a_sold_out_phone_is_announced_once_to_who_asked_when_an_import_brings_it_back(
    shop: Running,
) -> None:
    api = shop.api
    await shop.staff("catalog", "set-stock", IPHONE, "0")
    card = await shop.say(f"/start {poster_code(IPHONE)}", expect="Нет в наличии", language="ru")
    notify = card.button("notify")
    asked = await shop.press(card, notify, expect="Мы сообщим", language="ru")
    assert not [b for b in asked.buttons if "notify" in str(b.get("callback_data"))]
    await shop.press(card, notify, expect="Мы сообщим", language="ru")  # asked twice: once

    await shop.staff("catalog", "import", str(catalog_file(shop.tmp, 5)))
    await shop.all_told()
    (told,) = messages_to(api, ANN, BACK)
    assert "снова в продаже" in told.words
    assert "128 ГБ" in told.words

    await shop.staff("catalog", "import", str(catalog_file(shop.tmp, 7)))
    await shop.all_told()
    assert messages_to(api, ANN, BACK) == [told]
