"""Telegram updates per second through the whole stack, beside aiogram's bare echo in the same run.

"chatshop" is every layer an update crosses in production: aiogram's Dispatcher
(Update parsed from JSON) → our routers and middlewares → the conversation
engine and flows → the shop services → SQLite (the demo catalog in a file, WAL)
→ the rendered reply, signed buttons and all → the Bot API request. The wire is
emulated: `WireSession` encodes each request exactly as aiogram's
`AiohttpSession` would put it on the wire (the multipart/urlencoded form, JSON
values) and parses a canned JSON answer through aiogram's own response check —
everything but the network. The mix is what customers do most: browse (a
category page, a product card), search (typed words, with typos) and add to cart.
Two more rows split the whole: the same events given straight to the
conversation engine (no Telegram), and the Telegram side alone (the dispatcher
and renderer with the flows' replies replayed, no shop or database).

"bare echo" is aiogram's echo bot (examples/echo_bot.py: every message sent back
with `send_copy`) through the same session and the same Update parsing.

Updates are fed as polling feeds them: each as a task, at most `--concurrency` in
flight, from `--customers` customers. One process, one event loop.

"on PostgreSQL" rows are the shop as several workers run it: `chatshop run`
processes in webhook mode on one PostgreSQL database (the demo catalog) and one
Redis (the conversations and the customers' locks), each update of the same mix
posted over HTTP to one worker and the next to the other, as a load balancer
would, at most 40 in flight as Telegram sends (setWebhook's max_connections);
the workers' Bot API requests go over HTTP to a server on loopback that answers
each at once. These need PostgreSQL and Redis on 127.0.0.1, as the tests use
them (CHATSHOP_TEST_POSTGRES_URL, CHATSHOP_TEST_REDIS_URL); `--no-workers` skips
them. Run:

    python benchmarks/updates.py [--updates 3000] [--concurrency 64] [--customers 200] [--repeat 3]
    python benchmarks/updates.py --profile   # where chatshop's time goes

Each row is the best of `--repeat` rounds, the rounds interleaved so that a busy
moment of the machine slows the echo and chatshop alike.

A run with the defaults on a 2-core machine, everything — this process, the
workers, PostgreSQL and Redis — on those two cores, with the bot allowed 1,000
messages a second (Telegram's limits are benchmarks/crowd.py's subject):

    3000 updates, 64 in flight, 200 customers, one event loop; best of 3 rounds
                                                 updates/s  CPU ms each  vs echo
    aiogram bare echo                                4,305         0.24     1.00
    chatshop: the whole stack                          746         1.24     0.17
      flows → shop → SQLite alone (no Telegram)      2,050         0.49     0.48
      Telegram in and out alone (replies replayed)     1,545         0.57     0.36
    PostgreSQL + Redis, 1 worker (HTTP)                199                  0.05
    PostgreSQL + Redis, 2 workers (HTTP)               241                  0.06

A worker on PostgreSQL handles an update in milliseconds where the in-process
stack on SQLite takes about one: each transaction is a round trip to the server
and a commit waits for its disk, the conversation and the customer's lock are
round trips to Redis, and each update crosses HTTP. A worker answers Telegram once
the update is handled; its reply follows in its turn of the send budget. The
second worker adds a fifth, not double: with two cores there is no third for it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import json
import os
import pstats
import random
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Message, Update
from aiohttp import ClientSession, TCPConnector, web
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_shop, conversations_for, stock_demo
from bot.flows.engine import Conversations, Who
from bot.flows.types import Button, Event, Press, Reply
from bot.flows.types import Message as FlowMessage
from bot.handlers.telegram.channel import (
    SECRET_HEADER,
    WEBHOOK_PATH,
    TelegramChannel,
    build_telegram,
    telegram_bot,
    telegram_pace,
)
from bot.handlers.telegram.staff import TelegramStaffDesk
from bot.runner import freeze_startup_objects
from bot.services import Shop
from bot.settings import Settings, TelegramSettings
from shop.migrate import upgrade
from shop.models import Channel

TOKEN = "42:BENCHMARK-token"
BOT = {"id": 42, "is_bot": True, "first_name": "Shop", "username": "chatshop_bench_bot"}
# What each update costs is measured here, not Telegram's limits (benchmarks/crowd.py):
# the bot may send as fast as the settings allow.
UNLIMITED: dict[str, Any] = {"telegram_send_rate": 1000, "telegram_chat_rate": 1000}
SEARCHES = ["iphnoe", "kofe", "наушники sony", "galaxy s25", "шзрщту 256", "chager anker"]


class WireSession(AiohttpSession):
    """Everything aiogram's HTTP session does for a request, except the network round trip."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0
        self.bytes = 0

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        form = self.build_form_data(bot=bot, method=method)
        body = await form().as_bytes()  # the bytes that would go on the wire
        self.requests += 1
        self.bytes += len(body)
        response = self.check_response(bot, method, 200, _canned(method.__api_method__))
        return response.result  # type: ignore[return-value]

    async def close(self) -> None:
        pass


_MESSAGE = json.dumps(
    {
        "ok": True,
        "result": {
            "message_id": 7,
            "date": 1_700_000_000,
            "chat": {"id": 1, "type": "private"},
            "from": BOT,
            "text": "ok",
        },
    }
)
_TRUE = json.dumps({"ok": True, "result": True})
_ME = json.dumps({"ok": True, "result": BOT})


def _canned(method: str) -> str:
    if method == "getMe":
        return _ME
    return _MESSAGE if method.startswith(("send", "edit")) else _TRUE


# Updates as Telegram sends them --------------------------------------------------------

_ids = itertools.count(1)


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Ann", "language_code": "en"}


def _message(user_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private"},
            "from": _user(user_id),
            "text": text,
        },
    }


def _press(user_id: int, data: str) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": str(next(_ids)),
            "from": _user(user_id),
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": 7,
                "date": 1_700_000_000,
                "chat": {"id": user_id, "type": "private"},
                "from": BOT,
                "text": "menu",
            },
        },
    }


Step = tuple[dict[str, Any], Who, Event]  # the raw update, and what the flows make of it


async def shop_mix(
    shop: Shop, channel: TelegramChannel, count: int, customers: int, first_user: int = 10_000
) -> list[Step]:
    """Return `count` steps: 40% browse, 30% search, 30% add to cart, from many customers."""
    rng = random.Random(7)
    categories = [c.category.id for c in await shop.catalog.categories()]
    products = [p.id for p in await shop.catalog.all_products() if p.stock > 0 and not p.digital]

    def pressed(user_id: int, action: str, arg: str) -> tuple[dict[str, Any], Event]:
        markup = channel.renderer.keyboard(user_id, [[Button("b", action, arg)]])
        assert markup is not None
        data = markup.inline_keyboard[0][0].callback_data
        assert data is not None
        return _press(user_id, data), Press(action, arg)

    steps: list[Step] = []
    for n in range(count):
        user_id = first_user + n % customers
        who = Who(Channel.TELEGRAM, str(user_id), "Ann", "en")
        roll = rng.random()
        if roll < 0.2:
            raw, event = pressed(user_id, "cat", f"{rng.choice(categories)}:1")
        elif roll < 0.4:
            raw, event = pressed(user_id, "prod", f"{rng.choice(products)}:1:0")
        elif roll < 0.7:
            text = rng.choice(SEARCHES)
            raw, event = _message(user_id, text), FlowMessage(text)
        else:
            raw, event = pressed(user_id, "add", f"{rng.choice(products)}:1:0")
        steps.append((raw, who, event))
    return steps


class Replayed:
    """The flows' answers, recorded once per kind of event and replayed: no shop, no database."""

    def __init__(self, conversations: Conversations) -> None:
        self._conversations = conversations
        self._seen: dict[str, list[Reply]] = {}

    async def handle(self, who: Who, event: Event) -> list[Reply]:
        kind = f"{type(event).__name__}:{getattr(event, 'action', '')}"
        if kind not in self._seen:
            self._seen[kind] = await self._conversations.handle(who, event)
        return self._seen[kind]

    async def locale_of(self, who: Who) -> str:
        return "en"


async def telegram_on(
    shop: Shop, conversations: Conversations, session: WireSession
) -> TelegramChannel:
    """Compose the Telegram channel as `chatshop run` does, on `session` (no staff)."""
    pace = telegram_pace(shop.settings)
    bot = telegram_bot(shop.settings, pace, session=session)
    desk = TelegramStaffDesk((), shop.tickets)
    return await build_telegram(shop, conversations, bot, pace, desk)


def echo_dispatcher() -> Dispatcher:
    """Return aiogram's echo bot (its examples/echo_bot.py): each message sent back as a copy."""
    router = Router(name="echo")

    @router.message()
    async def echo(message: Message) -> None:
        await message.send_copy(chat_id=message.chat.id)

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


async def in_flight(
    work: list[Callable[[], Awaitable[Any]]],
    concurrency: int,
    then: Callable[[], Awaitable[Any]] | None = None,
) -> Timing:
    """Run each piece of work as a task (as polling does), at most `concurrency` at once.

    `then` is the rest of the work, done once all pieces are: the replies still queued.
    """
    slots = asyncio.Semaphore(concurrency)
    tasks: list[asyncio.Task[Any]] = []

    async def one(piece: Callable[[], Awaitable[Any]]) -> None:
        try:
            await piece()
        finally:
            slots.release()

    wall, cpu = time.perf_counter(), time.process_time()
    for piece in work:
        await slots.acquire()
        tasks.append(asyncio.create_task(one(piece)))
    await asyncio.gather(*tasks)
    if then is not None:
        await then()
    return Timing(len(work), time.perf_counter() - wall, time.process_time() - cpu)


def feeding(dispatcher: Dispatcher, bot: Bot, raw: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
    """Return the work of one update: parsed from JSON as getUpdates gives it, then dispatched."""

    async def work() -> None:
        await dispatcher.feed_update(bot, Update.model_validate(raw, context={"bot": bot}))

    return work


@dataclass(frozen=True)
class Timing:
    """How long a run took: wall clock and this process's CPU time."""

    count: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.count / self.wall

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.count * 1000


async def measure(run: Callable[[], Awaitable[Timing]], profile: bool) -> Timing:
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    timing = await run()
    if profiler:
        profiler.disable()
        print("\n--- where chatshop's time goes (own time, top 40) ---")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
    return timing


# Several workers on PostgreSQL, over HTTP ---------------------------------------------------

POSTGRES = os.environ.get(
    "CHATSHOP_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS = os.environ.get("CHATSHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_FLIGHT = 40  # Telegram's most connections to one webhook (setWebhook's max_connections)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def bot_api() -> tuple[web.AppRunner, str]:
    """Serve a Bot API on loopback that answers every request at once, as `_canned` does."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(
            text=_canned(request.match_info["method"]), content_type="application/json"
        )

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def workers_rows(
    counts: list[int], updates: int, customers: int, repeat: int
) -> dict[int, Timing]:
    """Post the mix to `chatshop run` workers on one PostgreSQL and Redis; the best of `repeat`."""
    name = f"chatshop_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    bot_id, first_user = random.randrange(10**8, 10**9), random.randrange(10**8, 10**9)
    first_customer = 0
    token = f"{bot_id}:BENCHMARK-token"
    api, api_url = await bot_api()
    folder = Path(tempfile.mkdtemp(prefix="chatshop-workers-"))
    settings = Settings(
        database_url=url,
        redis_url=REDIS,
        payments_secret=SecretStr("benchmark"),
        telegram=TelegramSettings(bot_token=SecretStr(token), bot_username="chatshop_bench_bot"),
        **UNLIMITED,
    )
    shop = build_shop(settings)
    best: dict[int, Timing] = {}
    try:
        await upgrade(shop.db)  # migrated and loaded before any worker starts
        await stock_demo(shop, wanted=True)
        # Customers of our own in Redis, which other users of the same database may share:
        # their Telegram ids, and their rows' ids, which name their conversations' keys.
        first_customer = random.randrange(10**6, 10**9)
        own = create_async_engine(url)
        async with own.begin() as conn:
            await conn.execute(text(f"SELECT setval('customer_id_seq', {first_customer})"))
        await own.dispose()
        conversations = conversations_for(shop)
        # Built as every worker builds it, for the buttons' signatures and the webhook's secret.
        channel = await telegram_on(shop, conversations, WireSession())
        secret = channel.webhook_secret.get_secret_value()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "REDIS"))}
        env.update(
            DATABASE_URL=url,
            REDIS_URL=REDIS,
            PAYMENTS_SECRET="benchmark",
            TELEGRAM_BOT_TOKEN=token,
            TELEGRAM_BOT_USERNAME="chatshop_bench_bot",
            TELEGRAM_API_URL=api_url,
            TELEGRAM_WEBHOOK_URL="http://127.0.0.1:1/telegram/webhook",  # the load balancer's
            **{name.upper(): str(rate) for name, rate in UNLIMITED.items()},
        )
        for count in counts:
            ports = [_free_port() for _ in range(count)]
            processes = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "run",
                    stdout=(folder / f"run-{port}.log").open("wb"),
                    stderr=asyncio.subprocess.STDOUT,
                    env={**env, "HTTP_PORT": str(port)},
                )
                for port in ports
            ]
            urls = [f"http://127.0.0.1:{port}{WEBHOOK_PATH}" for port in ports]
            try:
                async with ClientSession(connector=TCPConnector(limit=IN_FLIGHT)) as http:
                    for url_ in urls:
                        await _until_up(http, url_.removesuffix(WEBHOOK_PATH) + "/healthz")
                    warmup = await shop_mix(shop, channel, min(600, updates), customers, first_user)
                    await _post_all(http, urls, secret, [raw for raw, _, _ in warmup])
                    for _ in range(repeat):
                        mix = await shop_mix(shop, channel, updates, customers, first_user)
                        timing = await _post_all(http, urls, secret, [raw for raw, _, _ in mix])
                        if count not in best or timing.rate > best[count].rate:
                            best[count] = timing
            finally:
                for process in processes:
                    process.terminate()
                    await process.wait()
        await channel.close()
        await conversations.close()
    finally:
        await shop.db.dispose()
        await api.cleanup()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
        redis = Redis.from_url(REDIS)
        keys = [f"chatshop:state:{first_customer + 1 + n}" for n in range(customers)]
        for user_id in range(first_user, first_user + customers):
            keys += [key async for key in redis.scan_iter(match=f"*telegram:{user_id}")]
        keys += [key async for key in redis.scan_iter(match=f"*telegram:{bot_id}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        shutil.rmtree(folder, ignore_errors=True)
    return best


async def _until_up(http: ClientSession, url: str) -> None:
    async with asyncio.timeout(120):
        while True:
            try:
                async with http.get(url) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            await asyncio.sleep(0.2)


async def _post_all(
    http: ClientSession, urls: list[str], secret: str, raws: list[dict[str, Any]]
) -> Timing:
    """Post each update to the next worker in turn, at most IN_FLIGHT at once; 503s again."""
    headers = {SECRET_HEADER: secret}

    async def post(n: int, raw: dict[str, Any]) -> None:
        while True:
            async with http.post(urls[n % len(urls)], json=raw, headers=headers) as answer:
                if answer.status == 200:
                    return
                assert answer.status == 503, await answer.text()  # busy: Telegram sends again

    return await in_flight([partial(post, n, raw) for n, raw in enumerate(raws)], IN_FLIGHT)


async def main(
    updates: int, concurrency: int, customers: int, repeat: int, profile: bool, workers: bool
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="chatshop-updates-"))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'shop.db'}",
        payments_secret=SecretStr("benchmark"),
        telegram=TelegramSettings(bot_token=SecretStr(TOKEN)),
        **UNLIMITED,
    )
    shop = build_shop(settings)
    rounds: list[tuple[Timing, Timing, Timing, Timing]] = []
    try:
        await upgrade(shop.db)
        await stock_demo(shop, wanted=True)
        await shop.search.start()
        conversations = conversations_for(shop)
        session = WireSession()
        channel = await telegram_on(shop, conversations, session)
        dispatcher, bot = channel.dispatcher, channel.bot
        warmup = await shop_mix(shop, channel, min(600, updates), customers)
        replied = channel.outgoing.drained
        await in_flight(
            [feeding(dispatcher, bot, raw) for raw, _, _ in warmup], concurrency, replied
        )
        # The Telegram side alone: the same dispatcher and renderer, the flows' replies replayed.
        replayed = Replayed(conversations)
        alone = await telegram_on(shop, replayed, WireSession())  # type: ignore[arg-type]
        await in_flight(
            [feeding(alone.dispatcher, alone.bot, raw) for raw, _, _ in warmup],
            64,
            alone.outgoing.drained,
        )
        echo_bot = Bot(TOKEN, session=WireSession())
        echo = echo_dispatcher()
        texts = [
            _message(10_000 + n % customers, SEARCHES[n % len(SEARCHES)]) for n in range(updates)
        ]
        await in_flight([feeding(echo, echo_bot, raw) for raw in texts[:600]], concurrency)
        freeze_startup_objects()  # as `chatshop run` does once it serves

        # Rounds side by side, so a busy moment of the machine slows echo and chatshop alike.
        for _ in range(repeat):
            bare = await in_flight([feeding(echo, echo_bot, raw) for raw in texts], concurrency)
            mix = await shop_mix(shop, channel, updates, customers)
            session.requests = session.bytes = 0
            ours = await measure(
                lambda: in_flight(
                    [feeding(dispatcher, bot, raw) for raw, _, _ in mix],  # noqa: B023
                    concurrency,
                    replied,
                ),
                profile and not rounds,
            )
            requests, sent = session.requests, session.bytes
            again = await shop_mix(shop, channel, updates, customers)
            flows = await in_flight(
                [partial(conversations.handle, who, event) for _, who, event in again],
                concurrency,
            )
            telegram = await in_flight(
                [feeding(alone.dispatcher, alone.bot, raw) for raw, _, _ in again],
                concurrency,
                alone.outgoing.drained,
            )
            rounds.append((bare, ours, flows, telegram))
        await conversations.close()
    finally:
        await shop.db.dispose()
        shutil.rmtree(folder, ignore_errors=True)

    bare, ours, flows, telegram = (
        max(row, key=lambda t: t.rate) for row in zip(*rounds, strict=True)
    )
    several = await workers_rows([1, 2], updates, customers, repeat) if workers else {}
    print()
    print(
        f"{updates} updates, {concurrency} in flight, {customers} customers, one event loop; "
        f"best of {repeat} rounds"
    )
    print(f"{'':<44}{'updates/s':>10}{'CPU ms each':>13}{'vs echo':>9}")
    rows = [
        ("aiogram bare echo", bare),
        ("chatshop: the whole stack", ours),
        ("  flows → shop → SQLite alone (no Telegram)", flows),
        ("  Telegram in and out alone (replies replayed)", telegram),
    ]
    for name, timing in rows:
        print(
            f"{name:<44}{timing.rate:>10,.0f}{timing.cpu_ms:>13.2f}{timing.rate / bare.rate:>9.2f}"
        )
    for count, timing in several.items():
        name = f"PostgreSQL + Redis, {count} worker{'s' if count > 1 else ''} (HTTP)"
        # CPU time is the workers', not this process's: not measured here.
        print(f"{name:<44}{timing.rate:>10,.0f}{'':>13}{timing.rate / bare.rate:>9.2f}")
    print(
        f"chatshop made {requests / updates:.2f} Bot API requests per update, "
        f"{sent / max(requests, 1):,.0f} bytes each on average"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best of each row")
    parser.add_argument("--profile", action="store_true", help="profile chatshop's first round")
    parser.add_argument(
        "--no-workers",
        dest="workers",
        action="store_false",
        help="skip the rows of chatshop run workers on PostgreSQL and Redis",
    )
    args = parser.parse_args()
    asyncio.run(
        main(
            args.updates, args.concurrency, args.customers, args.repeat, args.profile, args.workers
        )
    )
