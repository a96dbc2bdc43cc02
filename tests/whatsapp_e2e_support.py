"""A `chatshop run` subprocess selling on WhatsApp through a fake Twilio on loopback, and its customers.

The shop runs as staff run it, configured by the environment; the test plays Twilio's
side: each customer's message is a form posted to the shop's webhook over HTTP, signed
with the account's auth token, and what the shop sends comes to the fake Twilio REST
API (`tests.fake_twilio`). Nothing waits a fixed time: a test waits for what arrives.

How a test knows a message has been answered in full: the shop answers one customer's
messages one at a time, in the order they came, so the customer sends a photo after
it (a "barrier"). The shop can only say that it reads text, and says so after every
reply to the messages before. A photo is answered without the conversation: its
state, and what the numbers mean, stay as they were.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
from aiohttp import web
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.db import Database
from shop.i18n import LOCALES, Language
from shop.models import Channel
from shop.outbox import Status
from shop.types import utcnow
from tests.fake_telegram import FakeBotAPI
from tests.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SENDER,
    FakeTwilio,
    Sent,
    customer_form,
    fake_twilio,
    signature,
)
from tests.payment_support import free_socket
from tests.process_support import until_serving

IPHONE = "APL-IP16P-128-BTI"  # a product of the demo catalog
TEMPLATES = {"order_status": "HX" + "0" * 31 + "1"}  # approved templates, by message kind
TRACKING_URLS = {"DHL": "https://www.dhl.com/en/express/tracking.html?AWB={number}"}
STAFF = 9_001  # the staff member's Telegram id, where the shop has one
WAIT = 60.0  # seconds a process may take to start or stop
# What the shop answers a photo with (bot/handlers/whatsapp/channel.py), in any language.
_PHOTO_ANSWER = "I can only read text. Type what you are looking for, or a number from the list."
T = TypeVar("T")
_OPTION = re.compile(r"(?:^|\s{3})(\d+)\. (.+?)(?=\s{3}\d+\. |$)")


class HeldTwilio(FakeTwilio):
    """The fake Twilio, which can also hold the messages the shop creates, until released.

    A held message is never created: released, it is answered 503 and not recorded,
    as if it had never reached Twilio (the shop sends it again, if it is still alive).
    """

    def __init__(self) -> None:
        super().__init__()
        self._holding: asyncio.Event | None = None  # set once a request is held
        self._every = False
        self._let_through = 0  # messages still created before the hold begins
        self._released = asyncio.Event()

    def hold(self, *, every: bool = False, after: int = 0) -> asyncio.Event:
        """Hold the next message created, once `after` more went through (`every`: each one) until `release`.

        Returns an event set once a message is held.
        """
        self._holding, self._every, self._released = asyncio.Event(), every, asyncio.Event()
        self._let_through = after
        return self._holding

    def release(self) -> None:
        """Answer the held requests (503), and hold no more."""
        self._released.set()

    async def _create(self, request: web.Request) -> web.Response:
        holding = self._holding
        if holding is None or self._released.is_set():
            return await super()._create(request)
        if self._let_through > 0:
            self._let_through -= 1
            return await super()._create(request)
        if not self._every:
            self._holding = None
        holding.set()
        await self._released.wait()
        return web.json_response({"code": 20500, "message": "held", "status": 503}, status=503)

    async def until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait (bounded) until `condition()` holds, looking again at each message created."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(condition)


@asynccontextmanager
async def held_twilio() -> AsyncIterator[HeldTwilio]:
    """Run a fake Twilio (that can hold a message) on a free loopback port."""
    fake = HeldTwilio()
    async with fake_twilio(fake):
        try:
            yield fake
        finally:
            fake.release()


@dataclass
class WhatsAppShop:
    """A `chatshop run` process selling on WhatsApp, on its own SQLite file.

    With `staff_api`, its staff are on Telegram (ADMIN_TELEGRAM_IDS: `STAFF`), through that
    fake Bot API, as a shop with no Telegram customers would still have them.
    """

    twilio: HeldTwilio
    tmp: Path
    port: int
    staff_api: FakeBotAPI | None = None
    process: asyncio.subprocess.Process | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def base(self) -> str:
        """PUBLIC_BASE_URL: where Twilio and browsers reach the shop."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook(self) -> str:
        """The URL Twilio is told to call, and signs."""
        return self.base + "/whatsapp/webhook"

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.tmp / 'shop.db'}"

    def env(self) -> dict[str, str]:
        """The shop's environment: WhatsApp against the fake Twilio, the sandbox checkout allowed."""
        ours = (
            "TELEGRAM_", "TWILIO_", "REDIS", "STRIPE_", "DATABASE_URL", "PAYMENTS_", "HTTP_",
            "PUBLIC_BASE_URL", "DEFAULT_LOCALE", "SHOP_", "DELIVERY_", "TRACKING_URLS",
        )  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
        env.update(
            DATABASE_URL=self.database_url,
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_WHATSAPP_FROM=SENDER,
            TWILIO_API_URL=self.twilio.url,
            TWILIO_TEMPLATES=json.dumps(TEMPLATES),
            TWILIO_SEND_RATE="1000",  # the test's customers answer faster than a real sender's pace
            TRACKING_URLS=json.dumps(TRACKING_URLS),
            HTTP_HOST="127.0.0.1",
            HTTP_PORT=str(self.port),
            PUBLIC_BASE_URL=self.base,
            PAYMENTS_SANDBOX="true",
            PAYMENTS_SECRET="whatsapp-e2e-payments-secret",
            PYTHONUNBUFFERED="1",
        )
        if self.staff_api is not None:
            env.update(
                TELEGRAM_BOT_TOKEN=self.staff_api.token,
                TELEGRAM_API_URL=self.staff_api.url,
                ADMIN_TELEGRAM_IDS=str(STAFF),
            )
        return env

    async def start(self) -> None:
        """Start `chatshop run`; wait until it serves /healthz."""
        log = self.tmp / f"run-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", stdout=out, stderr=out, env=self.env(), cwd=self.tmp
            )  # fmt: skip
        await until_serving(self.process, self.base, self.output)

    async def stop(self) -> int:
        """SIGTERM the process; return its exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(WAIT):
            return await self.process.wait()

    async def kill(self) -> None:
        """kill -9: no chance to clean anything up."""
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    def output(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs if log.exists())

    async def staff(self, *args: str) -> str:
        """Run a staff command (`chatshop orders ...`) beside the shop; return its stdout."""
        command = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, stdout=PIPE, stderr=PIPE, env=self.env(), cwd=self.tmp
        )  # fmt: skip
        out, err = await command.communicate()
        assert command.returncode == 0, (out + err).decode()
        return out.decode()

    async def staff_json(self, *args: str) -> Any:
        """Run a staff command with --json; return the document it printed."""
        return json.loads(await self.staff(*args, "--json"))

    async def orders_of(self, number: str) -> list[dict[str, Any]]:
        """Return a customer's orders as staff see them (`orders list --json`), oldest first."""
        listed = await self.staff_json("orders", "list")
        mine = [o for o in listed if o["customer"]["external_id"] == number]
        return sorted(mine, key=lambda order: order["id"])

    async def read(self, statement: Any) -> list[Any]:
        """Return the rows a query finds in the shop's database."""
        return await self._in_database(lambda conn: list(conn.execute(statement)))

    async def silence(self, number: str, hours: float) -> None:
        """Make it `hours` longer since the customer last wrote: move their last message back."""
        c = t.customer
        mine = (c.c.channel == Channel.WHATSAPP.value, c.c.external_id == number)

        def work(conn: Connection) -> None:
            last = conn.execute(select(c.c.last_inbound_at).where(*mine)).scalar_one()
            conn.execute(
                update(c).where(*mine).values(last_inbound_at=last - timedelta(hours=hours))
            )

        await self._in_database(work, write=True)

    async def pending_messages(self) -> list[Any]:
        """Return the kept messages not yet handled, or whose replies have not all gone."""
        i = t.inbound_message
        return await self.read(select(i.c.ref, i.c.status).where(i.c.status != "done"))

    async def all_handled(self) -> None:
        """Wait (bounded) until every kept message is handled and its replies have all gone.

        A reply reaches Twilio a moment before the shop records its message as done.
        """
        async with asyncio.timeout(30):
            while True:
                if not await self.pending_messages():
                    return
                await asyncio.sleep(0.05)  # the next look at an observable condition

    async def lapse_leases(self) -> None:
        """End the lease of every message in hand, as a minute after its process died ends it."""
        i = t.inbound_message
        lapsed = update(i).where(i.c.status != "done").values(lease_until=utcnow())
        await self._in_database(lambda conn: conn.execute(lapsed), write=True)

    async def taken_again(self, sid: str) -> None:
        """Wait (bounded) until the shop has taken up a kept message a second time."""
        i = t.inbound_message
        attempts = select(i.c.attempts).where(i.c.ref == sid)
        async with asyncio.timeout(30):
            while True:
                if await self._in_database(lambda conn: conn.execute(attempts).scalar_one()) > 1:
                    return
                await asyncio.sleep(0.05)  # the next look at an observable condition

    async def all_sent(self) -> None:
        """Wait (bounded) until the outbox holds nothing to send: each message sent, or failed.

        Then whatever the shop had to say unasked has reached the fake Twilio, and no more will.
        """
        o = t.outbound_message
        waiting = select(func.count()).where(o.c.status.in_((Status.PENDING, Status.SENDING)))
        async with asyncio.timeout(30):
            while True:
                if not await self._in_database(lambda conn: conn.execute(waiting).scalar_one()):
                    return
                await asyncio.sleep(0.05)  # the next look at an observable condition

    async def _in_database(self, work: Callable[[Connection], T], *, write: bool = False) -> T:
        """Do `work` in a transaction on the shop's database, as another process beside it."""
        db = Database(self.database_url)
        try:
            return await (db.write(work) if write else db.read(work))
        finally:
            await db.dispose()


@asynccontextmanager
async def whatsapp_shop(
    demo: Path, tmp: Path, staff_api: FakeBotAPI | None = None
) -> AsyncIterator[WhatsAppShop]:
    """Run `chatshop run` on a copy of the demo shop, selling on WhatsApp; stop it cleanly afterwards.

    `staff_api`: the staff's Telegram (see `WhatsAppShop`).
    """
    shutil.copy(demo, tmp / "shop.db")
    async with held_twilio() as twilio:
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        shop = WhatsAppShop(twilio, tmp, port, staff_api)
        await shop.start()
        try:
            yield shop
        finally:
            if shop.process is not None and shop.process.returncode is None:
                code = await shop.stop()
                assert code == 0, shop.output()
            assert "Traceback" not in shop.output(), shop.output()


@dataclass
class Customer:
    """A WhatsApp user writing to the shop: Twilio posts each message to the webhook, signed."""

    shop: WhatsAppShop
    number: str  # WaId: the digits of their phone number
    name: str = "Ann"  # ProfileName
    said: int = 0  # messages written (the barriers not counted)

    @property
    def address(self) -> str:
        return f"whatsapp:+{self.number}"

    def form(self, body: str, **fields: str) -> dict[str, str]:
        """Return the form Twilio posts for a message from this customer."""
        return customer_form(self.number, body, name=self.name, **fields)

    async def post(
        self, form: Mapping[str, str], *, signed_form: Mapping[str, str] | None = None
    ) -> tuple[int, str]:
        """Post a form to the webhook signed as Twilio signs `signed_form` (default: `form`).

        Returns the HTTP status and the body.
        """
        headers = {"X-Twilio-Signature": signature(self.shop.webhook, signed_form or form)}
        return await post_form(self.shop.webhook, form, headers)

    def mark(self) -> int:
        """Return where the messages sent from now on begin."""
        return len(self.shop.twilio.sent)

    def replies(self, since: int) -> list[Sent]:
        """Return the replies to this customer since `since` (not what was pushed unasked)."""
        return [m for m in self.shop.twilio.sent[since:] if m.to == self.address and not pushed(m)]

    async def say(self, body: str) -> list[Sent]:
        """Write a message; return every reply to it, once all have been sent."""
        since = self.mark()
        status, _ = await self.post(self.form(body))
        assert status == 200, status
        self.said += 1
        return await self.answered(since)

    async def answered(self, since: int) -> list[Sent]:
        """Post a barrier; return the replies since `since` before its answer (all sent by then)."""
        status, _ = await self.post(
            self.form("", NumMedia="1", MediaContentType0="image/jpeg", MediaUrl0=_PHOTO_URL)
        )
        assert status == 200, status
        answers = {Language(locale)._(_PHOTO_ANSWER) for locale in LOCALES}

        def barrier_answered() -> bool:
            return any(m.body in answers for m in self.replies(since))

        await self.shop.twilio.until(barrier_answered)
        replies = self.replies(since)
        last = max(n for n, m in enumerate(replies) if m.body in answers)
        return replies[:last]

    async def push(self, since: int, *expect: str) -> Sent:
        """Wait for what the shop sends this customer unasked since `since`, holding one of `expect`."""

        def arrived() -> list[Sent]:
            return [
                m
                for m in self.shop.twilio.sent[since:]
                if m.to == self.address and pushed(m) and any(e in m.words for e in expect)
            ]

        await self.shop.twilio.until(lambda: bool(arrived()))
        return arrived()[0]


_PHOTO_URL = "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME"


def pushed(message: Sent) -> bool:
    """Tell whether the shop sent a message unasked: the delivery worker asks Twilio to report on it."""
    return message.status_callback is not None


async def post_form(
    url: str, form: Mapping[str, str], headers: Mapping[str, str]
) -> tuple[int, str]:
    """Post a form; return the status and the body."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=dict(form), headers=dict(headers)) as answer,
    ):
        return answer.status, await answer.text()


def options(message: Sent) -> dict[str, str]:
    """Return a message's numbered options: number -> label."""
    found = {}
    for line in message.body.splitlines():
        for number, label in _OPTION.findall(line):
            found[number] = label.strip()
    return found


def choose(message: Sent, *words: str) -> str:
    """Return the number of the one option whose label holds `words` (any of them)."""
    matching = [
        number for number, label in options(message).items() if any(each in label for each in words)
    ]
    assert len(matching) == 1, (words, options(message))
    return matching[0]


def only(replies: Sequence[Sent]) -> Sent:
    """Return the one message a reply was."""
    assert len(replies) == 1, [m.words for m in replies]
    return replies[0]


def prefilled(link: str) -> tuple[str, str]:
    """Return the number a wa.me link opens the chat with, and the message it prefills."""
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc) == ("https", "wa.me"), link
    return parts.path.strip("/"), parse_qs(parts.query)["text"][0]


class _Form(HTMLParser):
    """The checkout page's form: where it posts, and its submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = ""
        self.buttons: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action, self.method = named.get("action", ""), named.get("method", "get")
        elif tag == "button" and named.get("type", "submit") == "submit":
            self.buttons.append(named)


@dataclass
class Page:
    """A page the browser shows: its status, its address, its text, and the buttons of its form."""

    status: int
    url: str
    text: str

    @property
    def buttons(self) -> list[dict[str, str]]:
        form = _Form()
        form.feed(self.text)
        return form.buttons


async def pay_in_browser(link: str, *, language: str = "en") -> Page:
    """Open a payment link and press Pay, as a browser does; return the page shown after."""
    headers = {"Accept-Language": language}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(link) as answer:
            assert answer.status == 200, answer.status
            page = await answer.text()
            url = str(answer.url)
        form = _Form()
        form.feed(page)
        assert form.action is not None, page
        assert form.method.lower() == "post", page
        pay = next(b for b in form.buttons if b.get("value") == "pay")
        async with http.post(
            urljoin(url, form.action), data={pay["name"]: pay["value"]}
        ) as answer:  # the browser follows the redirect to the page again
            return Page(answer.status, str(answer.url), await answer.text())


def link_in(message: Sent, base: str) -> str:
    """Return the one payment link (to the shop's own page) a message holds."""
    links = re.findall(re.escape(base) + r"/pay/[A-Za-z0-9_-]+", message.body)
    assert len(links) == 1, message.body
    return str(links[0])


def cyrillic_share(text: str) -> float:
    """Return the share of Cyrillic among the letters of `text` (links left out)."""
    words = re.sub(r"https?://\S+", "", text)
    letters = [ch for ch in words if ch.isalpha()]
    russian = [ch for ch in letters if "а" <= ch.lower() <= "я" or ch.lower() == "ё"]
    return len(russian) / max(len(letters), 1)
