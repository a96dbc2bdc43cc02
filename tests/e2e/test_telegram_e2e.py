"""`chatshop run` as a subprocess, selling through a fake Telegram Bot API on loopback.

The fake server speaks aiogram's real wire format over HTTP (form-encoded
requests, JSON answers, long-polled getUpdates with offsets); the test plays the
customer by queueing updates and waits for what the bot does — never a fixed sleep.
In webhook mode the test plays Telegram's side too: it posts each update to the
shop's webhook with the secret token it was given, and sends it again until it
is answered 200.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fake_telegram import BOT_ID, BOT_USERNAME, fake_bot_api
from tests.payment_support import free_socket
from tests.telegram_e2e_support import (
    ANN,
    IPHONE,
    PROVIDER_TOKEN,
    Running,
    charged,
    chat_message,
    checkout_to_the_phone_question,
    poster_code,
    running,
    user,
)


@pytest.fixture
async def shop(
    tmp_path: Path, demo_database: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Running]:
    """The shop receiving updates by long polling, and (where a test asks) by webhook."""
    webhook = getattr(request, "param", False)
    async with running(tmp_path, demo_database, webhook=webhook) as started:
        yield started


@pytest.fixture
async def hooked(tmp_path: Path, demo_database: Path) -> AsyncIterator[Running]:
    """The shop receiving updates by webhook."""
    async with running(tmp_path, demo_database, webhook=True) as started:
        yield started


@pytest.mark.parametrize("shop", [False, True], ids=["polling", "webhook"], indirect=True)
async def test_from_a_poster_to_a_paid_order_with_its_timeline(shop: Running) -> None:
    api = shop.api
    asked = await checkout_to_the_phone_question(shop)
    assert asked["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    since = api.mark()
    contact = {"phone_number": "+15550001234", "first_name": "Ann", "user_id": ANN}
    await shop.send(message=chat_message(contact=contact))
    delivery = await shop.reply(since, "deliver")
    since = api.mark()
    await shop.press(delivery, delivery.button("codlv", "pickup"))
    invoice = await api.wait_for(lambda c: c.method == "sendInvoice", since=since)
    assert invoice["currency"] == "USD"
    assert invoice["provider_token"] == PROVIDER_TOKEN
    total = sum(p["amount"] for p in invoice["prices"])
    assert total == 99_900

    since = api.mark()
    await shop.send(
        pre_checkout_query={
            "id": "pcq-1",
            "from": user(),
            "currency": "USD",
            "total_amount": total,
            "invoice_payload": invoice["payload"],
        }
    )
    answered = await api.wait_for(lambda c: c.method == "answerPreCheckoutQuery", since=since)
    assert (answered["pre_checkout_query_id"], answered["ok"]) == ("pcq-1", "true")

    paid = charged(
        {"currency": "USD", "total_amount": total, "invoice_payload": invoice["payload"]}
    )
    since = api.mark()
    await shop.send(message=chat_message(successful_payment=paid))
    confirmation = await shop.reply(since, "Payment received")
    order_number = invoice["title"].split("#")[1]
    assert f"#{order_number}" in confirmation.words
    assert "Timeline" in confirmation.words

    # Telegram delivers the same payment again: it pays once and is told once.
    since = api.mark()
    await shop.send(message=chat_message(successful_payment=paid))
    orders = await shop.say("/orders", expect="Your orders")
    assert not [c for c in api.calls[since:] if "Payment received" in c.words]
    order_button = next(b for b in orders.buttons if b["text"].startswith(f"#{order_number} "))
    assert "Paid" in order_button["text"]

    details = await shop.press(orders, order_button, expect=f"#{order_number}")
    assert "Paid" in details.words
    assert details.words.count("\n") >= 3  # the timeline, a line per step


async def test_a_demo_gallery_swipes_in_place_and_sends_its_album(shop: Running) -> None:
    headphones = "SNY-WH1000XM5-BLK"  # four photos in the demo catalog
    card = await shop.say(f"/start {poster_code(headphones)}", expect="WH-1000XM5")
    assert card.method == "sendPhoto"
    assert card["photo"].endswith("headphones+front")

    swiped = await shop.press(card, card.button("photo"))  # ‹ from the first: the last
    album = await shop.press(card, card.button("photos"))

    assert swiped.method == "editMessageMedia"
    assert swiped["message_id"] == str(card.result["message_id"])
    assert swiped["media"]["media"].endswith("headphones+case")
    assert album.method == "sendMediaGroup"
    shown = [media["media"].rsplit("+", 1)[-1] for media in album["media"]]
    assert shown == ["front", "side", "folded", "case"]
    assert album["media"][0]["caption"] == "Sony WH-1000XM5 wireless headphones, black"


async def test_a_kill_9_mid_checkout_loses_neither_the_cart_nor_the_step(shop: Running) -> None:
    api = shop.api
    await checkout_to_the_phone_question(shop)

    await shop.kill()
    await shop.start()

    since = api.mark()
    contact = {"phone_number": "+15550001234", "first_name": "Ann", "user_id": ANN}
    await shop.send(message=chat_message(contact=contact))
    delivery = await shop.reply(since, "deliver")  # the same step: the phone was awaited
    since = api.mark()
    await shop.press(delivery, delivery.button("codlv", "pickup"))
    invoice = await api.wait_for(lambda c: c.method == "sendInvoice", since=since)
    assert "iPhone 16 Pro 128GB" in invoice["description"]  # the same cart


async def test_an_inline_result_opens_the_product_card(shop: Running) -> None:
    api = shop.api
    since = api.mark()
    await shop.send(inline_query={"id": "iq-1", "from": user(), "query": "iphnoe", "offset": ""})
    answer = await api.wait_for(lambda c: c.method == "answerInlineQuery", since=since)
    result = answer["results"][0]
    assert "iPhone" in result["title"]
    assert "$" in result["description"]

    # Chosen in the chat with the bot: Telegram posts it as a message "via" the bot.
    posted = chat_message(
        text=result["input_message_content"]["message_text"],
        via_bot={"id": BOT_ID, "is_bot": True, "first_name": "Shop", "username": BOT_USERNAME},
        reply_markup=result["reply_markup"],
    )
    since = api.mark()
    await shop.send(message=posted)
    card = await shop.reply(since, result["title"])
    assert card.button("add")
    assert card.button("buy")


async def press_held(shop: Running) -> tuple[dict[str, Any], asyncio.Task[int], asyncio.Event]:
    """Open a product card; post the press of its Add button while the press's answer is held.

    The bot answers a press before it changes the cart, so the update is in hand,
    its effect not yet made, when the held answerCallbackQuery arrives.
    """
    card = await shop.say(f"/start {poster_code(IPHONE)}", expect="iPhone 16 Pro 128GB")
    shown = shop.api.messages[(ANN, int(card.result["message_id"]))]
    press = shop.api.update(
        callback_query={
            "id": "cb-add",
            "from": user(),
            "chat_instance": "1",
            "message": shown,
            "data": card.button("add")["callback_data"],
        }
    )
    released = shop.api.hold("answerCallbackQuery")
    since = shop.api.mark()
    delivery = asyncio.create_task(shop.deliver(press))
    await shop.api.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    return press, delivery, released


async def test_a_kill_9_while_an_update_is_handled_loses_it_not(hooked: Running) -> None:
    press, delivery, released = await press_held(hooked)

    await hooked.kill()
    released.set()

    with pytest.raises(aiohttp.ClientError):
        await delivery  # never acknowledged: Telegram keeps the update
    await hooked.start()
    since = hooked.api.mark()
    assert await hooked.deliver(press) == 200  # sent again, taken this time
    assert "Added 1" in (await hooked.reply(since, "Added")).words
    cart = await hooked.say("/cart", expect="Your cart")
    assert "iPhone 16 Pro 128GB" in cart.words
    assert "× 1 —" in cart.words  # added once


async def test_a_stop_lets_the_update_in_hand_finish_and_acknowledges_it(hooked: Running) -> None:
    _, delivery, released = await press_held(hooked)
    since = hooked.api.mark()

    assert hooked.process is not None
    hooked.process.send_signal(signal.SIGTERM)
    await hooked.deaf()  # stopping, with the update still in hand
    released.set()

    assert await delivery == 200
    assert "Added 1" in (await hooked.reply(since, "Added")).words
    async with asyncio.timeout(30):
        assert await hooked.process.wait() == 0
    assert "Traceback" not in hooked.output()


async def test_with_a_channel_an_empty_shop_gets_no_demo_catalog_but_a_word_on_importing(
    tmp_path: Path,
) -> None:
    async with fake_bot_api() as api:
        sock = free_socket()
        running = Running(api, tmp_path, sock.getsockname()[1])
        sock.close()
        await running.start()
        assert await running.stop() == 0

    output = running.output()
    assert "Loaded the demo catalog" not in output
    assert "The catalog is empty" in output
    assert "chatshop catalog import" in output
    assert "chatshop catalog demo" in output
    exported = await running.staff("catalog", "export")
    assert exported.splitlines()[1:] == []
