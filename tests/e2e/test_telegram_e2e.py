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
import os
import shutil
import signal
import subprocess
import sys
from asyncio.subprocess import PIPE, STDOUT
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shop.deeplink import Target, inline, make_scan
from tests.fake_telegram import BOT_ID, BOT_USERNAME, TOKEN, Call, FakeBotAPI, fake_bot_api
from tests.payment_support import free_socket

ANN = 5_550_001
IPHONE = "APL-IP16P-128-BTI"
PROVIDER_TOKEN = "284685063:TEST:e2e"
MESSAGES = ("sendMessage", "sendPhoto", "sendInvoice", "editMessageText", "editMessageCaption")


def user(user_id: int = ANN) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Ann", "language_code": "en"}


def chat_message(user_id: int = ANN, **content: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": user_id, "type": "private", "first_name": "Ann"},
        "from": user(user_id),
        **content,
    }
    text = content.get("text")
    if isinstance(text, str) and text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return message


@dataclass
class Running:
    """A `chatshop run` process and the customer's conversation with it."""

    api: FakeBotAPI
    tmp: Path
    port: int
    webhook: bool = False  # updates posted to the shop's webhook instead of long-polled
    process: asyncio.subprocess.Process | None = None
    log: list[str] = field(default_factory=list)

    async def start(self) -> None:
        """Start `chatshop run`; wait until it serves /healthz and asks for updates (or a webhook)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "REDIS"))}
        env.update(
            DATABASE_URL=f"sqlite+aiosqlite:///{self.tmp / 'shop.db'}",
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=self.api.url,
            TELEGRAM_PAYMENT_PROVIDER_TOKEN=PROVIDER_TOKEN,
            HTTP_HOST="127.0.0.1",
            HTTP_PORT=str(self.port),
            PUBLIC_BASE_URL=f"http://127.0.0.1:{self.port}",
            PAYMENTS_SECRET="e2e-payments-secret",
            PYTHONUNBUFFERED="1",
        )
        if self.webhook:
            env.update(TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{self.port}/telegram/webhook")
        out = (self.tmp / f"run-{len(self.log)}.log").open("wb")
        self.log.append(out.name)
        polled = self.api.mark()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", stdout=out, stderr=out, env=env, cwd=self.tmp
        )
        out.close()
        await self.healthy()
        asks = "setWebhook" if self.webhook else "getUpdates"
        await self.api.wait_for(lambda c: c.method == asks, since=polled, timeout=60)

    async def staff(self, *args: str) -> str:
        """Run a staff command (`chatshop catalog demo`) on the shop's database; return its output."""
        env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{self.tmp / 'shop.db'}"}
        command = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, stdout=PIPE, stderr=STDOUT, env=env, cwd=self.tmp
        )
        output, _ = await command.communicate()
        assert command.returncode == 0, output.decode()
        return output.decode()

    async def healthy(self) -> None:
        """Wait (bounded) until the web server answers /healthz."""
        async with asyncio.timeout(60), aiohttp.ClientSession() as http:
            while True:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise AssertionError(f"chatshop run exited: {self.output()}")
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)  # the next look at an observable condition

    async def deaf(self) -> None:
        """Wait (bounded) until the web server takes no new connections: it is stopping."""
        async with asyncio.timeout(30):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    return
                writer.close()
                await asyncio.sleep(0.05)  # the next look at an observable condition

    async def stop(self) -> int:
        """SIGTERM the process; return its exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            return await self.process.wait()

    async def kill(self) -> None:
        """kill -9: no chance to clean anything up."""
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    def output(self) -> str:
        return "\n".join(Path(name).read_text(errors="replace") for name in self.log)

    # Telegram's side in webhook mode ---------------------------------------------------

    async def deliver(self, update: dict[str, Any]) -> int:
        """Post an update to the webhook as Telegram does, with the secret token it was given."""
        secret = self.api.of("setWebhook")[-1]["secret_token"]
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        url = f"http://127.0.0.1:{self.port}/telegram/webhook"
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, json=update, headers=headers) as answer,
        ):
            return answer.status

    async def send(self, **event: Any) -> None:
        """Hand the bot an update: queued for getUpdates, or posted to its webhook."""
        if self.webhook:
            assert await self.deliver(self.api.update(**event)) == 200
        else:
            await self.api.push(**event)

    # The customer ----------------------------------------------------------------------

    async def say(self, text: str, *, expect: str = "", user_id: int = ANN) -> Call:
        """Send a message; return the bot's first message back (containing `expect`)."""
        since = self.api.mark()
        await self.send(message=chat_message(user_id, text=text))
        return await self.reply(since, expect, user_id)

    async def press(self, on: Call, button: dict[str, Any], *, expect: str = "") -> Call:
        """Press a button of a message the bot sent; return the bot's answer to it."""
        chat_id = int(on["chat_id"])
        shown = self.api.messages[(chat_id, int(on.result["message_id"]))]
        since = self.api.mark()
        await self.send(
            callback_query={
                "id": f"cb{since}",
                "from": user(chat_id),
                "chat_instance": "1",
                "message": shown,
                "data": button["callback_data"],
            }
        )
        await self.api.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
        return await self.reply(since, expect, chat_id)

    async def reply(self, since: int, expect: str, chat_id: int = ANN) -> Call:
        return await self.api.wait_for(
            lambda c: (
                c.method in MESSAGES and int(c.get("chat_id", 0)) == chat_id and expect in c.words
            ),
            since=since,
        )


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shop's database with the demo catalog, loaded once the staff's way (`catalog demo`)."""
    folder = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'shop.db'}"}
    subprocess.run(
        [sys.executable, "-m", "bot", "catalog", "demo"],
        check=True,
        capture_output=True,
        env=env,
        cwd=folder,
    )
    return folder / "shop.db"


@asynccontextmanager
async def running(tmp_path: Path, demo: Path, *, webhook: bool) -> AsyncIterator[Running]:
    """Run `chatshop run` on a copy of `demo` against a fake Bot API; stop it cleanly afterwards."""
    shutil.copy(demo, tmp_path / "shop.db")  # the staff command closed it: no WAL is left
    async with fake_bot_api() as api:
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        shop = Running(api, tmp_path, port, webhook=webhook)
        await shop.start()
        try:
            yield shop
        finally:
            if shop.process is not None and shop.process.returncode is None:
                code = await shop.stop()
                assert code == 0, shop.output()
                assert "Traceback" not in shop.output()


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


def poster_code(sku: str, source: str = "poster-window") -> str:
    code = inline(make_scan(Target.product(sku), source))
    assert code is not None
    return code


async def checkout_to_the_phone_question(shop: Running) -> Call:
    """Scan a poster, find the product again with a typo, add it, open the cart, check out."""
    card = await shop.say(f"/start {poster_code(IPHONE)}", expect="iPhone 16 Pro 128GB")
    assert card.button("add")
    found = await shop.say("iphnoe 128", expect="Found for")
    product = next(b for b in found.buttons if "128GB Black" in b["text"])
    opened = await shop.press(found, product, expect="iPhone 16 Pro 128GB")
    await shop.press(opened, opened.button("add"), expect="Added 1")
    cart = await shop.say("/cart", expect="Your cart")
    assert "iPhone 16 Pro 128GB" in cart.words
    return await shop.press(cart, cart.button("co"), expect="phone")


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

    paid = {
        "currency": "USD",
        "total_amount": total,
        "invoice_payload": invoice["payload"],
        "telegram_payment_charge_id": "tg-charge-1",
        "provider_payment_charge_id": "prov-charge-1",
    }
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
