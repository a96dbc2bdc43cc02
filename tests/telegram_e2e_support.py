"""A `chatshop run` subprocess against a fake Telegram Bot API, and the customer talking to it.

The fake server speaks aiogram's real wire format over HTTP (form-encoded
requests, JSON answers, long-polled getUpdates with offsets); a test plays the
customer by queueing updates and waits for what the bot does — never a fixed sleep.
In webhook mode the test plays Telegram's side too: it posts each update to the
shop's webhook with the secret token it was given.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from asyncio.subprocess import PIPE, STDOUT
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from shop import tables as t
from shop.db import Database
from shop.deeplink import Target, inline, make_scan
from shop.outbox import Status
from tests.fake_telegram import TOKEN, Call, FakeBotAPI, fake_bot_api
from tests.payment_support import free_socket
from tests.process_support import until_serving

ANN = 5_550_001
IPHONE = "APL-IP16P-128-BTI"
PROVIDER_TOKEN = "284685063:TEST:e2e"
MESSAGES = (
    "sendMessage",
    "sendPhoto",
    "sendMediaGroup",
    "sendInvoice",
    "editMessageText",
    "editMessageCaption",
    "editMessageMedia",
)


def user(user_id: int = ANN, *, language: str = "en") -> dict[str, Any]:
    """Return a Telegram user whose app speaks `language` (its `language_code`)."""
    return {"id": user_id, "is_bot": False, "first_name": "Ann", "language_code": language}


def chat_message(user_id: int = ANN, *, language: str = "en", **content: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": user_id, "type": "private", "first_name": "Ann"},
        "from": user(user_id, language=language),
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
    settings: dict[str, str] = field(default_factory=dict)  # more environment, over the defaults
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
            # The test's customers answer at once, faster than Telegram lets a bot write to
            # one chat; tests of pacing set Telegram's limits.
            TELEGRAM_CHAT_RATE="1000",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.settings)
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
        env.update(self.settings)
        command = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, stdout=PIPE, stderr=STDOUT, env=env, cwd=self.tmp
        )
        output, _ = await command.communicate()
        assert command.returncode == 0, output.decode()
        return output.decode()

    async def healthy(self) -> None:
        """Wait (bounded) until the web server answers /healthz."""
        assert self.process is not None
        await until_serving(self.process, f"http://127.0.0.1:{self.port}", self.output)

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

    @property
    def database_url(self) -> str:
        """The shop's database: the one a test's settings name, else its own SQLite file."""
        return self.settings.get("DATABASE_URL", f"sqlite+aiosqlite:///{self.tmp / 'shop.db'}")

    async def all_told(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a deadline
        """Wait (bounded) until the outbox holds nothing more to send: each message sent or failed.

        Then whatever the shop had to say has reached the fake Bot API, and nothing
        more will: counting its calls from here counts every message that went.
        """
        o = t.outbound_message
        waiting = select(func.count()).where(o.c.status.in_((Status.PENDING, Status.SENDING)))
        db = Database(self.database_url)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    if not await db.read(lambda conn: conn.execute(waiting).scalar_one()):
                        return
                    await asyncio.sleep(0.05)  # the next look at an observable condition
        except TimeoutError:
            raise AssertionError(f"messages still unsent after {timeout} s") from None
        finally:
            await db.dispose()

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

    async def say(
        self, text: str, *, expect: str = "", user_id: int = ANN, language: str = "en"
    ) -> Call:
        """Send a message; return the bot's first message back (containing `expect`)."""
        since = self.api.mark()
        await self.send(message=chat_message(user_id, language=language, text=text))
        return await self.reply(since, expect, user_id)

    async def press(
        self, on: Call, button: dict[str, Any], *, expect: str = "", language: str = "en"
    ) -> Call:
        """Press a button of a message the bot sent; return the bot's answer to it."""
        chat_id = int(on["chat_id"])
        shown = self.api.messages[(chat_id, int(on.result["message_id"]))]
        since = self.api.mark()
        await self.send(
            callback_query={
                "id": f"cb{since}",
                "from": user(chat_id, language=language),
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


@asynccontextmanager
async def running(
    tmp_path: Path, demo: Path, *, webhook: bool, **settings: str
) -> AsyncIterator[Running]:
    """Run `chatshop run` on a copy of `demo` against a fake Bot API; stop it cleanly afterwards."""
    shutil.copy(demo, tmp_path / "shop.db")  # the staff command closed it: no WAL is left
    async with fake_bot_api() as api:
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        shop = Running(api, tmp_path, port, webhook=webhook, settings=settings)
        await shop.start()
        try:
            yield shop
        finally:
            if shop.process is not None and shop.process.returncode is None:
                code = await shop.stop()
                assert code == 0, shop.output()
                assert "Traceback" not in shop.output()


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


def charged(form: dict[str, Any]) -> dict[str, Any]:
    """Return the successful_payment Telegram sends for a checkout `form` it charged (card invoice)."""
    return {
        **form,
        "telegram_payment_charge_id": "tg-charge-1",
        "provider_payment_charge_id": "prov-charge-1",
    }
