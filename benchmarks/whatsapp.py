"""200 concurrent WhatsApp conversations on loopback: the webhook's answer and the first reply, beside Telegram's.

A `chatshop run` process (the demo catalog; SQLite, or PostgreSQL and Redis with
`--postgres`) has its WhatsApp channel pointed at a fake Twilio REST API on loopback
in this process. N customers (200) write to it at once, each a conversation of five
messages: "hi", a mistyped search ("iphnoe 16"), "1" (the first product found), the
number shown beside "Add to cart", the number shown beside "Cart". Each message is
posted to `POST /whatsapp/webhook` as Twilio posts it (a form signed with
X-Twilio-Signature over PUBLIC_BASE_URL + the path, a fresh MessageSid), once the previous
message's reply has reached the fake Twilio and the customer has read it for a second,
like a person. Each customer's "hi" is delivered a second time with the same
MessageSid after its reply came, as Twilio repeats a delivery it saw no answer to: the
shop must answer it 200 and not handle it again.

The rows, one after another, each a process of its own on a fresh copy of the same
database, with the same crowd:

- "bare aiohttp webhook (floor)": the least a WhatsApp webhook does, on plain aiohttp:
  read the form, check the signature, drop a MessageSid seen before, answer, and send
  one canned reply through the fake Twilio at the shop's pace. What the crowd's driver,
  aiohttp and loopback cost on this machine.
- "WhatsApp (Twilio webhook)": `chatshop run` with WhatsApp configured.
- "Telegram (baseline)": `chatshop run` with Telegram in webhook mode against the fake
  Bot API, the same crowd measured the same way: /start, the same search, then the
  buttons of the first product, "Add to cart" and the cart, each update posted to
  `POST /telegram/webhook` with the secret token, at most setWebhook's max_connections
  (40) at once as Telegram does, a 503 sent again after its Retry-After.

Per row: the webhook's answer, milliseconds from a POST until its 200, over every
message, and the p99 of each conversation's first message (N at the same instant when
all start at once) and of the four others; WhatsApp answers once the message is kept
in the inbox (the conversation runs after the answer), Telegram once the update is
handled (the reply is sent after). The first reply, seconds from the customer's
message (on Telegram from when the update was ready: its wait for one of the 40
connections and any 503 included) until the first reply to it reached the fake API (a
message, or on Telegram an edit). lost: messages with no reply within a minute; dupes:
a reply a customer got twice (the same text and buttons); sorry: "something went
wrong" replies; 503s: posts refused as busy; cpu: CPU seconds of the server's process
while the crowd shopped.

What is compared: both channels send at the same budget. WhatsApp's is
TWILIO_SEND_RATE, 80 a second (the default: a Twilio sender's throughput; WhatsApp has
no limit to a chat). Telegram's real limits, 30 a second in all and 1 to a chat, would
make the reply times a measure of pacing alone, so the baseline runs at 80 a second in
all and 80 to a chat, the fake refusing nothing; `--real-limits` adds a row of Telegram
at its real limits, the fake answering 429 past them as Telegram does. The reply times
are then mostly the budget's: N customers who read for a second ask for N/(1 + W)
replies a second, of which R go, so they wait W = N/R − 1 = 1.5 s on average (Little's
law), and the first burst, N at once, takes N/R = 2.5 s to answer.

    python benchmarks/whatsapp.py [--customers 200] [--think 1] [--ramp SECONDS]
                                  [--rate 80] [--postgres] [--real-limits]

`--ramp 2.5` starts the conversations evenly over 2.5 s instead of all at once.
`--postgres` runs every shop on a database of its own on the server of
postgresql+asyncpg://postgres@127.0.0.1:5432/test (CHATSHOP_TEST_POSTGRES_URL), copied
from a template loaded once and dropped afterwards, with
REDIS_URL=redis://127.0.0.1:6379/15 (CHATSHOP_TEST_REDIS_URL), whose keys of its
customers it deletes afterwards. A run takes about a minute and a half (two minutes
with `--real-limits`). Nothing is asserted: the figures are printed side by side.

On a 2-core machine (the servers, the fakes, the crowd, PostgreSQL and Redis all on
those two cores), shared with other work (load average 1 to 2 during the SQLite runs):

    $ python benchmarks/whatsapp.py
    200 conversations all starting at once, 5 messages each, 1 s reading each reply; SQLite; the shop, the fakes and the customers on 2 cores
                                                   webhook answer, ms                         first reply, s
                                  msgs    p50    p95    p99    max   1st p99  rest p99    p50    p95    p99    max  lost dupes sorry  503s   again  cpu s
    bare aiohttp webhook (floor)  1000    1.8   93.3  106.2  109.2     108.6       3.3   1.30   1.73   2.26   2.32     0     0     0     0 200/200    1.7
    WhatsApp (Twilio webhook)     1000    2.9  122.6  131.5  133.7     133.4      11.6   1.46   1.88   2.53   2.60     0     0     0     0 200/200    6.6
    Telegram (baseline)           1000    6.9  157.3  167.4  176.5     171.6      23.9   1.66   2.25   3.00   3.06     0     0     0     0            8.3

    $ python benchmarks/whatsapp.py --ramp 2.5
    200 conversations starting over 2.5 s, 5 messages each, 1 s reading each reply; SQLite; the shop, the fakes and the customers on 2 cores
                                                   webhook answer, ms                         first reply, s
                                  msgs    p50    p95    p99    max   1st p99  rest p99    p50    p95    p99    max  lost dupes sorry  503s   again  cpu s
    bare aiohttp webhook (floor)  1000    1.2    2.0    2.7    7.1       3.3       2.7   1.50   1.50   1.51   1.51     0     0     0     0 200/200    1.4
    WhatsApp (Twilio webhook)     1000    3.1    9.6   13.9   38.1      17.0      13.9   1.51   1.72   1.80   1.80     0     0     0     0 200/200    6.1
    Telegram (baseline)           1000    4.6   12.8   25.2   42.8      28.3      25.2   1.53   1.72   1.75   1.76     0     0     0     0            7.1

    $ python benchmarks/whatsapp.py --postgres
    200 conversations all starting at once, 5 messages each, 1 s reading each reply; PostgreSQL + Redis; the shop, the fakes and the customers on 2 cores
                                                   webhook answer, ms                         first reply, s
                                  msgs    p50    p95    p99    max   1st p99  rest p99    p50    p95    p99    max  lost dupes sorry  503s   again  cpu s
    bare aiohttp webhook (floor)  1000    1.7  122.7  126.3  126.9     126.9       3.1   1.33   1.72   2.29   2.35     0     0     0     0 200/200    1.5
    WhatsApp (Twilio webhook)     1000   23.4  516.7  628.1  704.4     671.6      53.8   1.61   3.28   3.99   4.21     0     0     0     0 200/200   12.7
    Telegram (baseline)           1000  111.4  765.3 1007.6 1063.1    1048.8     491.1   1.85   5.09   5.73   5.80     0     0     0     0           12.1

The machine's other work moves these figures: two runs of each, minutes apart, gave
131 and 155 ms for the burst (floor 106 both times, Telegram 167 and 125) and 14 and
48 ms for the spread-out start (Telegram 25 and 53 ms in the same runs). Run one
after the other with the code before these changes, on the same machine at the same
time, WhatsApp's p99 was 126 ms against 234 ms before for the burst, and 7.6 ms
against 148 ms before for the spread-out start. Over four such pairs of each (the
first three before Twilio's client was loaded at start, some in busier minutes):
123 to 270 ms against 215 to 1,876 ms for the burst, 7.6 to 60 ms against 25 to
440 ms for the spread-out start, where one pair went the other way (60 against 25).

Where the time went: on SQLite a handled message runs on the event loop from one
transaction to the next without yielding, and up to 8 messages are handled at once;
a webhook that came while handlers were ready waited for a whole message's handling
from each of them. The growth tools (consent, visits and funnel steps, experiments,
reminders) made each handled message longer, and the figures of the shop with them,
on a quieter machine, were 528 ms for the burst (the floor 151) and 93 ms for the
spread-out start (34 ms before those tools). Three changes this benchmark led to since:

- Handling after Twilio's answer runs as background work that takes a turn before
  each transaction (`shop.turns`), one turn a pass of the event loop: a webhook waits
  for one step of one handler at most, however many are busy, and the handlers are
  never starved. During the burst the shop now spends its time on the 200 webhooks,
  about 0.8 ms of CPU each (the floor's are cheaper: no database, a smaller app); what
  is left above the floor is that, and the machine's other work. Letting the handling
  wait instead until 5 ms pass with no webhook in hand (at most 100 ms) had brought
  the burst to 192 ms but the spread-out start to 192 ms too (handling ran in bursts
  between webhooks).
- A message handled moments after it was kept is not renewed in the inbox (a lease
  with half or more to run cannot have been taken): one transaction fewer each.
- Twilio's client loads its Messages resource when the channel starts: the library
  imported it on first use, 36 ms on the event loop at the first reply, the slowest
  webhook of every spread-out start.

Turns are taken on SQLite only, whose transactions run on the event loop; the
PostgreSQL run above is from before them and before the growth tools, not measured
again. Earlier changes this benchmark led to (at most 8 messages handled at once,
sends paced by the sender's limit alone, the inbox's statements built once) had taken
the burst from 446 ms (rest 38 ms) on SQLite and 1,227 ms (rest 261 ms) on
PostgreSQL. No message was lost or answered twice, no repeated delivery handled again.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import running_shop, stock_demo
from bot.flows import actions as a
from bot.settings import Settings
from tests.crowd_support import SEARCH
from tests.fake_telegram import Call, FakeBotAPI, fake_bot_api
from tests.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SENDER,
    Sent,
    customer_form,
    fake_twilio,
    signature,
)
from tests.payment_support import free_socket
from tests.process_support import until_serving
from tests.telegram_e2e_support import chat_message, user

POSTGRES = os.environ.get(
    "CHATSHOP_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS = os.environ.get("CHATSHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WHATSAPP_PATH = "/whatsapp/webhook"
TELEGRAM_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
NO_REPLY = 60.0  # seconds after which a message counts as unanswered
QUIET = 2.0  # seconds without a new message after the crowd is done: nothing more is coming
HERE = Path(__file__).resolve()
FLOOR = "bare aiohttp webhook (floor)"
TARGET_MS = 100.0  # the webhook p99
SORRY = "something went wrong"
TELEGRAM_SENDS = {"sendMessage", "sendPhoto", "sendInvoice"}
TELEGRAM_EDITS = {"editMessageText", "editMessageCaption", "editMessageMedia"}
# Telegram's connections to one webhook when setWebhook names none.
TELEGRAM_CONNECTIONS = 40
# A numbered option as the WhatsApp renderer writes it: "2. 🛒 Add to cart", several to a line.
OPTION = re.compile(r"(?:^|\s)(\d+)\. (.+?)(?=\s{2,}\d+\. |$)", re.MULTILINE)


# What a crowd saw --------------------------------------------------------------------------


@dataclass
class Message:
    """One message a customer sent: when, its webhook's answer time, when its first reply came."""

    at: float
    webhook: float | None = None  # seconds until the 200 (of the post that was taken)
    replied: float | None = None
    step: int = 0  # which of the conversation's messages


@dataclass
class Row:
    """One channel's figures for one crowd."""

    label: str
    rate: str
    messages: list[Message]
    replies: int  # messages the customers got
    dupes: int
    sorry: int
    busy: int  # 503s
    redelivered: str  # repeated deliveries answered 200, of those made ("" where none)
    cpu: float
    seconds: float

    @property
    def webhooks(self) -> list[float]:
        return [m.webhook * 1000 for m in self.messages if m.webhook is not None]

    @property
    def waits(self) -> list[float]:
        return [m.replied - m.at for m in self.messages if m.replied is not None]

    @property
    def lost(self) -> int:
        return sum(1 for m in self.messages if m.replied is None)


def centile(values: list[float], share: float) -> float:
    """Return the value under which `share` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The shop's process ------------------------------------------------------------------------


@dataclass
class Process:
    """A `chatshop run` subprocess and its log."""

    port: int
    log: Path
    process: asyncio.subprocess.Process

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        """SIGTERM it and wait; say so if it did not stop cleanly."""
        self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            code = await self.process.wait()
        output = self.log.read_text(errors="replace")
        troubles = [line for line in output.splitlines() if "ERROR" in line or "Traceback" in line]
        if code != 0 or troubles:
            print(f"  chatshop run exited {code}; {len(troubles)} error lines:", file=sys.stderr)
            for line in troubles[:5]:
                print(f"    {line}", file=sys.stderr)


@asynccontextmanager
async def chatshop_run(
    folder: Path,
    database_url: str,
    redis_url: str | None,
    settings: dict[str, str],
    *,
    webhook: bool = False,
    command: tuple[str, ...] = ("-m", "bot", "run"),
) -> AsyncIterator[Process]:
    """Run `chatshop run` on `database_url` with `settings`; yield it once it serves /healthz.

    With `webhook`, Telegram is set to post updates to its webhook on the shop's port.
    `command` runs another server with the same environment (the floor).
    """
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "TWILIO_", "REDIS", "STRIPE_", "HTTP_", "PUBLIC_"))
        and k not in {"DATABASE_URL", "PAYMENTS_SANDBOX", "ADMIN_TELEGRAM_IDS"}
    }
    env.update(
        DATABASE_URL=database_url,
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        PAYMENTS_SECRET="benchmark-payments-secret",
        PYTHONUNBUFFERED="1",
        **settings,
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    if webhook:
        env["TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{port}{TELEGRAM_PATH}"
    log = folder / f"run-{port}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *command, stdout=out, stderr=out, env=env, cwd=folder
        )
    running = Process(port, log, process)
    try:
        await until_serving(process, running.base, lambda: log.read_text(errors="replace"))
        yield running
    finally:
        if process.returncode is None:
            await running.stop()


@contextmanager
def steady() -> Iterator[None]:
    """Keep this process's garbage collector off while it measures: its pauses are not the shop's."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def quiet(last: Callable[[], float]) -> None:
    """Wait until nothing new has arrived for QUIET seconds (`last`: when the latest came)."""
    # Silence is no event to wait for: look again when it would have lasted long enough.
    while (left := last() + QUIET - time.monotonic()) > 0:  # noqa: ASYNC110
        await asyncio.sleep(left)


# WhatsApp ----------------------------------------------------------------------------------


@dataclass
class Phone:
    """One WhatsApp customer's side: the messages the shop sent them, as they came."""

    got: list[tuple[float, Sent]] = field(default_factory=list)
    came: asyncio.Event = field(default_factory=asyncio.Event)


class Heard(list[Sent]):
    """The fake Twilio's list of sent messages, telling each customer of theirs as it comes."""

    def __init__(self, phones: dict[str, Phone]) -> None:
        super().__init__()
        self.phones = phones
        self.last = time.monotonic()

    def append(self, sent: Sent) -> None:
        super().append(sent)
        self.last = time.monotonic()
        phone = self.phones.get(sent.to)
        if phone is not None:
            phone.got.append((self.last, sent))
            phone.came.set()


def options(body: str) -> dict[str, str]:
    """Return a WhatsApp text's numbered options: label to number."""
    return {label.strip(): number for number, label in OPTION.findall(body)}


def number_of(body: str, label: str) -> str | None:
    """Return the number shown beside the option whose label contains `label`."""
    return next((n for shown, n in options(body).items() if label in shown), None)


async def replies_after(phone: Phone, seen: int, wanted: Callable[[str], bool]) -> int | None:
    """Wait for a message past the first `seen` for which `wanted(body)`; return its index."""
    deadline = time.monotonic() + NO_REPLY
    looked = seen
    while True:
        for index in range(looked, len(phone.got)):
            if wanted(phone.got[index][1].words):
                return index
        looked = len(phone.got)
        phone.came.clear()
        try:
            async with asyncio.timeout(deadline - time.monotonic()):
                await phone.came.wait()
        except TimeoutError:
            return None


async def whatsapp_customer(
    http: aiohttp.ClientSession,
    url: str,
    number: str,
    phone: Phone,
    think: float,
    said: list[Message],
    redelivered: list[int],
    delay: float,
) -> None:
    """Shop as one WhatsApp customer from `delay` s on, each message after the last one's reply."""
    # What to write, and what the reply to it must show for the next message to be written.
    steps: list[tuple[Callable[[str], str | None], Callable[[str], bool]]] = [
        (lambda _: "hi", lambda body: "Search" in body),
        (lambda _: SEARCH, lambda body: "iPhone 16" in body),
        (lambda _: "1", lambda body: number_of(body, "Add to cart") is not None),
        (lambda body: number_of(body, "Add to cart"), lambda body: "Added" in body),
        (lambda body: number_of(body, "Cart") or "/cart", lambda _: True),
    ]
    shown = ""
    await asyncio.sleep(delay)
    for step, (write, done) in enumerate(steps):
        body = write(shown)
        if body is None:
            return
        form = customer_form(number, body, name="Ann")
        sign = {"X-Twilio-Signature": signature(url, form)}
        seen = len(phone.got)
        message = Message(time.monotonic(), step=step)
        said.append(message)
        async with http.post(url, data=form, headers=sign) as answer:
            await answer.read()
            if answer.status != 200:
                print(f"  {number}: webhook answered {answer.status}", file=sys.stderr)
                return
        message.webhook = time.monotonic() - message.at
        if await replies_after(phone, seen, lambda _: True) is None:
            return
        message.replied = phone.got[seen][0]
        complete = await replies_after(phone, seen, done)
        if complete is None:
            print(f"  {number}: no usable reply to {body!r}", file=sys.stderr)
            return
        shown = phone.got[complete][1].words
        if step == 0:  # Twilio delivers it again (it saw no answer): answered, not handled
            async with http.post(url, data=form, headers=sign) as answer:
                await answer.read()
                redelivered.append(answer.status)
        await asyncio.sleep(think)


async def whatsapp_row(
    folder: Path,
    database_url: str,
    redis_url: str | None,
    customers: int,
    first: int,
    think: float,
    rate: int,
    *,
    ramp: float,
    floor: bool = False,
) -> Row:
    """Let `customers` WhatsApp customers shop at once; say what they saw (`floor`: at the floor)."""
    phones = {f"whatsapp:+{first + n}": Phone() for n in range(customers)}
    async with fake_twilio() as twilio:
        heard = twilio.sent = Heard(phones)
        settings = {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_WHATSAPP_FROM": SENDER,
            "TWILIO_API_URL": twilio.url,
            "TWILIO_SEND_RATE": str(rate),
        }
        command = (str(HERE), "--serve-floor") if floor else ("-m", "bot", "run")
        async with chatshop_run(folder, database_url, redis_url, settings, command=command) as shop:
            url = shop.base + WHATSAPP_PATH
            said: list[Message] = []
            redelivered: list[int] = []
            connector = aiohttp.TCPConnector(limit=0)  # Twilio posts each message at once
            cpu = cpu_seconds(shop.process.pid)
            started = time.monotonic()
            with steady():
                async with aiohttp.ClientSession(connector=connector) as http:
                    await asyncio.gather(
                        *(
                            whatsapp_customer(
                                http,
                                url,
                                number.removeprefix("whatsapp:+"),
                                phone,
                                think,
                                said,
                                redelivered,
                                place * ramp / customers,
                            )
                            for place, (number, phone) in enumerate(phones.items())
                        )
                    )
            seconds = time.monotonic() - started
            cpu = cpu_seconds(shop.process.pid) - cpu
            await quiet(lambda: heard.last)
    got = [sent for phone in phones.values() for _, sent in phone.got]
    dupes = 0
    for phone in phones.values():
        counted = Counter((s.words, tuple(s.media), s.content_sid) for _, s in phone.got)
        dupes += sum(times - 1 for times in counted.values())
    return Row(
        FLOOR if floor else "WhatsApp (Twilio webhook)",
        f"TWILIO_SEND_RATE={rate}",
        said,
        len(got),
        dupes,
        sum(1 for sent in got if SORRY in sent.words),
        0,
        f"{sum(1 for status in redelivered if status == 200)}/{len(redelivered)}",
        cpu,
        seconds,
    )


# Telegram ----------------------------------------------------------------------------------


@dataclass
class Chat:
    """One Telegram customer's chat: the bot's messages and edits in it, as they came."""

    calls: list[Call] = field(default_factory=list)
    came: asyncio.Event = field(default_factory=asyncio.Event)

    def with_button(self, action: str) -> tuple[Call, dict[str, Any]] | None:
        """Return the latest message showing an `action` button, and the button."""
        for call in reversed(self.calls):
            for button in call.buttons:
                if str(button.get("callback_data", "")).split("|")[1:2] == [action]:
                    return call, button
        return None


class TelegramCrowd:
    """Telegram customers posting updates to the shop's webhook as Telegram does."""

    def __init__(self, api: FakeBotAPI, url: str, ids: range, think: float, ramp: float) -> None:
        self.api = api
        self.url = url
        self.ids = ids
        self.think = think
        self.ramp = ramp
        self.chats = {user_id: Chat() for user_id in ids}
        self.said: list[Message] = []
        self.busy = 0
        self.last = time.monotonic()
        webhook = api.of("setWebhook")[-1]
        self.secret = str(webhook["secret_token"])
        self.connections = asyncio.Semaphore(
            int(webhook.get("max_connections") or TELEGRAM_CONNECTIONS)
        )
        api.listeners.append(self._heard)

    def _heard(self, call: Call) -> None:
        if call.method in TELEGRAM_SENDS | TELEGRAM_EDITS and call.result is not None:
            chat = self.chats.get(int(call.get("chat_id", 0)))
            if chat is not None:
                chat.calls.append(call)
                chat.came.set()
                self.last = call.at

    async def shop(self) -> None:
        connector = aiohttp.TCPConnector(limit=0)  # the semaphore is Telegram's bound
        async with aiohttp.ClientSession(connector=connector) as http:
            await asyncio.gather(*(self._customer(http, user_id) for user_id in self.ids))

    async def _deliver(self, http: aiohttp.ClientSession, message: Message, update: Any) -> bool:
        """Post an update as Telegram does: on one of its connections, again after a 503."""
        while True:
            async with self.connections:
                posted = time.monotonic()
                async with http.post(
                    self.url, json=update, headers={SECRET_HEADER: self.secret}
                ) as answer:
                    await answer.read()
                    took = time.monotonic() - posted
                    if answer.status == 200:
                        message.webhook = took
                        return True
                    if answer.status != 503:
                        print(f"  Telegram webhook answered {answer.status}", file=sys.stderr)
                        return False
                    self.busy += 1
                    wait = float(answer.headers.get("Retry-After", "1"))
            await asyncio.sleep(wait)

    async def _customer(self, http: aiohttp.ClientSession, user_id: int) -> None:
        chat = self.chats[user_id]
        await asyncio.sleep((user_id - self.ids.start) * self.ramp / len(self.ids))
        steps = [
            ("say", "/start"),
            ("say", SEARCH),
            ("press", a.PRODUCT),
            ("press", a.ADD),
            ("press", a.CART),
        ]
        for step, (kind, what) in enumerate(steps):
            if kind == "say":
                event: dict[str, Any] = {"message": chat_message(user_id, text=what)}
            else:
                shown = chat.with_button(what)
                if shown is None:
                    print(f"  {user_id}: no {what!r} button", file=sys.stderr)
                    return
                call, button = shown
                event = {
                    "callback_query": {
                        "id": f"cb{user_id}-{len(chat.calls)}",
                        "from": user(user_id),
                        "chat_instance": "1",
                        "message": self.api.messages[(user_id, int(call.result["message_id"]))],
                        "data": button["callback_data"],
                    }
                }
            seen = len(chat.calls)
            message = Message(time.monotonic(), step=step)
            self.said.append(message)
            if not await self._deliver(http, message, self.api.update(**event)):
                return
            deadline = message.at + NO_REPLY
            while len(chat.calls) <= seen:
                chat.came.clear()
                try:
                    async with asyncio.timeout(deadline - time.monotonic()):
                        await chat.came.wait()
                except TimeoutError:
                    return
            message.replied = chat.calls[seen].at
            await asyncio.sleep(self.think)


async def telegram_row(
    folder: Path,
    database_url: str,
    redis_url: str | None,
    customers: int,
    first: int,
    think: float,
    rate: int,
    per_chat: int,
    *,
    ramp: float,
    real_limits: bool,
) -> Row:
    """Let `customers` Telegram customers shop at once through the webhook; say what they saw."""
    token = f"{random.randrange(10**8, 10**9)}:BENCHMARK-token"
    async with fake_bot_api(token) as api:
        if real_limits:
            api.flood_control(overall=rate, per_chat=per_chat)
        settings = {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_URL": api.url,
            "TELEGRAM_SEND_RATE": str(rate),
            "TELEGRAM_CHAT_RATE": str(per_chat),
        }
        async with chatshop_run(folder, database_url, redis_url, settings, webhook=True) as shop:
            await api.wait_for(lambda c: c.method == "setWebhook", timeout=60)
            crowd = TelegramCrowd(
                api, shop.base + TELEGRAM_PATH, range(first, first + customers), think, ramp
            )
            flooded = api.flooded
            cpu = cpu_seconds(shop.process.pid)
            started = time.monotonic()
            with steady():
                await crowd.shop()
            seconds = time.monotonic() - started
            cpu = cpu_seconds(shop.process.pid) - cpu
            await quiet(lambda: crowd.last)
            flooded = api.flooded - flooded
    got = [call for chat in crowd.chats.values() for call in chat.calls]
    dupes = 0
    for chat in crowd.chats.values():
        counted = Counter((c.method, c.words, str(c.get("reply_markup"))) for c in chat.calls)
        dupes += sum(times - 1 for times in counted.values())
    label = "Telegram at its limits" if real_limits else "Telegram (baseline)"
    limits = f", {flooded} 429s" if real_limits else ""
    return Row(
        label,
        f"TELEGRAM_SEND_RATE={rate}, TELEGRAM_CHAT_RATE={per_chat}{limits}",
        crowd.said,
        len(got),
        dupes,
        sum(1 for call in got if SORRY in call.words),
        crowd.busy,
        "",
        cpu,
        seconds,
    )


# The floor: the least a WhatsApp webhook does ---------------------------------------------

# One reply that lets every step of a conversation go on.
FLOOR_REPLY = "1. 🔍 Search   2. iPhone 16\n3. 🛒 Add to cart   4. 🛒 Cart\n✅ Added"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def serve_floor() -> None:
    """Serve the least a WhatsApp webhook does, on plain aiohttp, until SIGTERM.

    It reads the form, checks its signature, drops a MessageSid seen before, answers
    the empty TwiML, and sends one canned reply through the (fake) Twilio REST API at
    the same pace as the shop's replies (at most TWILIO_SEND_RATE in any second, at least
    half of 1/TWILIO_SEND_RATE apart). No database,
    no conversation: what is left of the shop's figures is the webhook's own cost.
    """
    from twilio.request_validator import RequestValidator  # noqa: PLC0415 - this mode only

    env = os.environ
    validator = RequestValidator(env["TWILIO_AUTH_TOKEN"])
    url = env["PUBLIC_BASE_URL"] + WHATSAPP_PATH
    account = env["TWILIO_ACCOUNT_SID"]
    create = f"{env['TWILIO_API_URL']}/2010-04-01/Accounts/{account}/Messages.json"
    auth = aiohttp.BasicAuth(account, env["TWILIO_AUTH_TOKEN"])
    rate = int(env["TWILIO_SEND_RATE"])
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    seen: set[str] = set()
    sending: set[asyncio.Task[None]] = set()

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def webhook(request: web.Request) -> web.Response:
        posted = await request.post()
        form = {key: value for key, value in posted.items() if isinstance(value, str)}
        if not validator.validate(url, form, request.headers.get("X-Twilio-Signature", "")):
            raise web.HTTPForbidden(text="not signed by Twilio")
        if form["MessageSid"] not in seen:
            seen.add(form["MessageSid"])
            queue.put_nowait((form["From"], form["MessageSid"]))
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def send(http: aiohttp.ClientSession, to: str, sid: str) -> None:
        body = f"{FLOOR_REPLY}\n(to {sid})"  # a message handled twice is answered twice alike
        message = {"To": to, "From": env["TWILIO_WHATSAPP_FROM"], "Body": body}
        async with http.post(create, data=message, auth=auth) as answer:
            await answer.read()

    async def sender(http: aiohttp.ClientSession) -> None:
        window: deque[float] = deque()  # sends in the last second
        while True:
            to, sid = await queue.get()
            # As bot.pace sends replies: at most `rate` in any second, at least 0.5/rate apart.
            if window:
                await asyncio.sleep(max(0.0, window[-1] + 0.5 / rate - time.monotonic()))
            while len(window) >= rate:
                await asyncio.sleep(max(0.0, window[0] + 1.0 - time.monotonic()))
                while window and window[0] <= time.monotonic() - 1.0:
                    window.popleft()
            window.append(time.monotonic())
            task = asyncio.create_task(send(http, to, sid))
            sending.add(task)
            task.add_done_callback(sending.discard)

    app = web.Application()
    app.add_routes([web.get("/healthz", healthz), web.post(WHATSAPP_PATH, webhook)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(env["HTTP_PORT"])).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with aiohttp.ClientSession() as http:
        drain = asyncio.create_task(sender(http))
        await stop.wait()
        drain.cancel()
    await runner.cleanup()


# The shops' databases ----------------------------------------------------------------------


@dataclass
class Databases:
    """Each run's database: a fresh copy of one loaded with the demo catalog (SQLite or PostgreSQL)."""

    folder: Path
    postgres: bool
    template: str = ""
    made: list[str] = field(default_factory=list)  # PostgreSQL databases to drop
    customer_ids: list[range] = field(default_factory=list)  # whose Redis keys are ours

    def _url(self, name: str) -> str:
        if not self.postgres:
            return f"sqlite+aiosqlite:///{self.folder / name}"
        return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)

    async def _admin(self, *statements: str) -> None:
        admin = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                for statement in statements:
                    await conn.execute(text(statement))
        finally:
            await admin.dispose()

    async def load(self) -> None:
        """Make the template: the schema and the demo catalog."""
        if self.postgres:
            self.template = f"chatshop_bench_{uuid.uuid4().hex[:10]}"
            self.made.append(self.template)
            await self._admin(f'CREATE DATABASE "{self.template}"')
        else:
            self.template = "template.db"
        settings = Settings(
            database_url=self._url(self.template),
            payments_secret=SecretStr("benchmark-payments-secret"),
        )
        async with running_shop(settings) as shop:
            await stock_demo(shop, wanted=True)

    async def fresh(self, customers: int) -> str:
        """Return the URL of a new copy of the template, for `customers` new customers."""
        if not self.postgres:
            name = f"shop-{len(self.made)}.db"
            self.made.append(name)
            shutil.copy(self.folder / self.template, self.folder / name)
            return self._url(name)
        name = f"{self.template}_{len(self.made)}"
        self.made.append(name)
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        url = self._url(name)
        # Customers' rows' ids name their conversations' keys in a Redis that others share.
        first = random.randrange(10**8, 10**9)
        self.customer_ids.append(range(first + 1, first + customers + 10))
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(f"SELECT setval('customer_id_seq', {first})"))
        finally:
            await engine.dispose()
        return url

    async def drop(self, other_ids: list[range]) -> None:
        """Drop the PostgreSQL databases, and delete the Redis keys of our customers."""
        if not self.postgres:
            return
        await self._admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self.made))
        ours = {str(n) for ids in [*self.customer_ids, *other_ids] for n in ids}
        redis = Redis.from_url(REDIS)
        try:
            keys = [
                key
                async for key in redis.scan_iter(match="chatshop*", count=1000)
                if ours.intersection(re.split(r"[:+]", key.decode(errors="replace")))
            ]
            if keys:
                await redis.delete(*keys)
        finally:
            await redis.aclose()


# The table ---------------------------------------------------------------------------------


def show(rows: list[Row], args: argparse.Namespace) -> None:
    """Print the figures side by side, with the rates each row ran at."""
    store = "PostgreSQL + Redis" if args.postgres else "SQLite"
    start = f"starting over {args.ramp:g} s" if args.ramp else "all starting at once"
    print()
    print(
        f"{args.customers} conversations {start}, 5 messages each, {args.think:g} s reading each "
        f"reply; {store}; the shop, the fakes and the customers on {os.cpu_count()} cores"
    )
    for row in rows:
        print(f"  {row.label}: {row.rate}; the crowd took {row.seconds:.1f} s")
    print(
        f"{'':<29}{'webhook answer, ms':^54}{'first reply, s':^28}"
        f"{'':>6}{'':>6}{'':>6}{'':>6}{'':>8}{'':>7}"
    )
    print(
        f"{'':<29}{'msgs':>5}{'p50':>7}{'p95':>7}{'p99':>7}{'max':>7}{'1st p99':>10}{'rest p99':>10}"
        f"{'p50':>7}{'p95':>7}{'p99':>7}{'max':>7}"
        f"{'lost':>6}{'dupes':>6}{'sorry':>6}{'503s':>6}{'again':>8}{'cpu s':>7}"
    )
    for row in rows:
        hooks, waits = row.webhooks, row.waits
        first = [m.webhook * 1000 for m in row.messages if m.step == 0 and m.webhook is not None]
        rest = [m.webhook * 1000 for m in row.messages if m.step > 0 and m.webhook is not None]
        print(
            f"{row.label:<29}{len(row.messages):>5}"
            + "".join(f"{centile(hooks, share):>7.1f}" for share in (0.5, 0.95, 0.99))
            + f"{max(hooks, default=0.0):>7.1f}"
            + f"{centile(first, 0.99):>10.1f}{centile(rest, 0.99):>10.1f}"
            + "".join(f"{centile(waits, share):>7.2f}" for share in (0.5, 0.95, 0.99))
            + f"{max(waits, default=0.0):>7.2f}"
            f"{row.lost:>6}{row.dupes:>6}{row.sorry:>6}{row.busy:>6}{row.redelivered:>8}"
            f"{row.cpu:>7.1f}"
        )
    mean = statistics.fmean(len(r.messages) and r.replies / len(r.messages) for r in rows)
    steady = max(0.0, args.customers * mean / args.rate - args.think)
    print(
        f"the issue's target: webhook p99 ≤ {TARGET_MS:.0f} ms. 1st: each conversation's first "
        f"message; rest: the other four. The send rate allows: {args.customers} replies at once "
        f"in {args.customers / args.rate:.2f} s; a mean wait of {steady:.2f} s once the crowd "
        f"is steady (N·m/R − think, m = {mean:.2f} replies a message)"
        + (
            f"; at Telegram's 30: {args.customers / 30:.2f} s and "
            f"{max(0.0, args.customers * mean / 30 - args.think):.2f} s"
            if args.real_limits
            else ""
        )
        + ". again: repeated deliveries answered 200"
    )


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="chatshop-whatsapp-"))
    databases = Databases(folder, args.postgres)
    redis_url = REDIS if args.postgres else None
    first = random.randrange(10**8, 10**9)  # customers of our own where Redis is shared
    telegram_ids: list[range] = []
    try:
        await databases.load()
        rows = []
        for floor in (True, False):
            url = "" if floor else await databases.fresh(args.customers)
            row = await whatsapp_row(
                folder,
                url,
                redis_url,
                args.customers,
                447_000_000_000 + first,
                args.think,
                args.rate,
                ramp=args.ramp,
                floor=floor,
            )
            print(f"{row.label}: webhook p99 {centile(row.webhooks, 0.99):.1f} ms", flush=True)
            rows.append(row)
        runs = [(args.rate, args.rate, False)]
        if args.real_limits:
            runs.append((30, 1, True))
        for overall, per_chat, real in runs:
            url = await databases.fresh(args.customers)
            telegram_ids.append(range(first, first + args.customers))
            row = await telegram_row(
                folder,
                url,
                redis_url,
                args.customers,
                first,
                args.think,
                overall,
                per_chat,
                ramp=args.ramp,
                real_limits=real,
            )
            print(f"{row.label}: webhook p99 {centile(row.webhooks, 0.99):.1f} ms", flush=True)
            rows.append(row)
            first += args.customers
        show(rows, args)
    finally:
        await databases.drop(telegram_ids)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--customers", type=int, default=200, help="conversations at once")
    parser.add_argument("--think", type=float, default=1.0, help="seconds a customer reads a reply")
    parser.add_argument(
        "--ramp",
        type=float,
        default=0.0,
        help="seconds over which the conversations start, evenly (0: all at once)",
    )
    parser.add_argument(
        "--rate", type=int, default=80, help="messages a second, each channel (TWILIO_SEND_RATE)"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="PostgreSQL and Redis on 127.0.0.1 (as the tests)"
    )
    parser.add_argument(
        "--real-limits",
        action="store_true",
        help="add a row of Telegram at 30 a second and 1 a chat, the fake refusing past them",
    )
    parser.add_argument("--serve-floor", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    asyncio.run(serve_floor() if arguments.serve_floor else main(arguments))
