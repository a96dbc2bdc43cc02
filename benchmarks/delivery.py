"""Queued messages sent to Telegram by one and by two workers, beside a sender that does not pace.

The shop's messages wait in the outbox of a PostgreSQL database; `chatshop worker`
processes (the delivery worker alone, as in `chatshop run`) share it and one send
budget in Redis, paced at
`TELEGRAM_SEND_RATE`. They send to a fake Bot API on loopback (in this process)
that models Telegram's flood control: a send past the limit in any one second
(30, or the rate asked if higher) or past one a second to a chat is answered 429
with `retry_after`. The messages are queued in one transaction once the workers
are up, round robin over the chats; the clock runs from that commit to the last
send received. Each row says how many were sent, how fast, the most received in
any one second (in all, and by one chat), the 429s, duplicates and messages lost.

Baselines in the same run: the time the rate itself allows (messages / rate), and
a plain loop sending the same messages as fast as it can (64 at once) through
aiogram, no pacing: what Telegram refuses then. With `--unshared`, two workers
without Redis, each pacing itself alone. Run (PostgreSQL and Redis on 127.0.0.1,
as the tests use them):

    python benchmarks/delivery.py [--messages 10000] [--chats 2000] [--rate 30] [--workers 1,2]
    python benchmarks/delivery.py --messages 600 --rate 200    # a quick run, seconds

Figures from a 2-core machine (the default run, 10,000 messages to 2,000 chats at 30/s):

    10000 messages to 2000 chats at TELEGRAM_SEND_RATE=30; Telegram (the fake) refuses past 30/s and 1/s to a chat
    the rate allows: 333.3 s
                                                       sent    seconds      per s max in 1 s max/chat/s       429s      dupes       lost
    chatshop: 1 worker, one budget in Redis          10,000      349.2       28.6         30          1          4          0          0
    chatshop: 2 workers, one budget in Redis         10,000      342.9       29.2         30          1         14          0          0
    plain loop, no pacing                               120        3.5       34.5         30          1      9,880          0      9,880

Every message went once; none was lost, none went twice; never more than 30 in
a second nor two to a chat. The 429s left (about 1%) are sends counted a moment
before they reached the fake and received a few milliseconds closer together than
counted; each waits a second and goes again in a turn of the budget. Before that
retry took a turn (it was made outside the budget), the two workers drew 954 429s,
and two workers each pacing alone (no Redis, `--unshared`) drew 22,598 at 27.6/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shop import tables as t
from shop.outbox import Kind, Status
from shop.types import utcnow

# The fake Bot API is the tests' own: run from anywhere, this file finds them beside it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fake_telegram import Call, FakeBotAPI, fake_bot_api

POSTGRES = os.environ.get(
    "CHATSHOP_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS = os.environ.get("CHATSHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
FIRST_CHAT = 100_000_000


@dataclass
class Row:
    label: str
    messages: int
    sent: int
    seconds: float
    most_in_a_second: int
    most_to_a_chat: int
    refused: int  # 429s
    duplicates: int
    lost: int

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def most_in_a_second(times: list[float]) -> int:
    """Return the most of `times` within any one second."""
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def tally(
    label: str, texts: dict[str, int], calls: list[Call], refused: int, started: float
) -> Row:
    """Count what Telegram (the fake) took of `texts`, from the calls it received."""
    taken = [c for c in calls if c.method == "sendMessage" and c.result is not None]
    said = Counter(c["text"].split("\n")[-1] for c in taken)
    by_chat: defaultdict[int, list[float]] = defaultdict(list)
    for call in taken:
        by_chat[int(call["chat_id"])].append(call.at)
    last = max((c.at for c in taken), default=started)
    return Row(
        label,
        len(texts),
        len(taken),
        last - started,
        most_in_a_second([c.at for c in taken]),
        max((most_in_a_second(times) for times in by_chat.values()), default=0),
        refused,
        sum(n - 1 for n in said.values() if n > 1),
        sum(1 for text in texts if text not in said),
    )


# The shop's database ---------------------------------------------------------------------


async def fresh_database() -> str:
    """Create an empty database on the PostgreSQL server; return its URL."""
    name = f"chatshop_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def chatshop(*args: str, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    out = log.open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, stdout=out, stderr=out, env=env
    )
    out.close()
    return process


async def queue(db: AsyncEngine, messages: int, chats: int) -> dict[str, int]:
    """Queue `messages` answers to `chats` customers in one transaction; return text -> chat."""
    now = utcnow()
    async with db.begin() as conn:
        rows = await conn.execute(
            t.customer.insert().returning(t.customer.c.id, t.customer.c.external_id),
            [
                {
                    "channel": "telegram",
                    "external_id": str(FIRST_CHAT + n),
                    "display_name": "",
                    "marketing_consent": False,
                    "first_seen_at": now,
                }
                for n in range(chats)
            ],
        )
        ids = {int(external): customer for customer, external in rows}
        texts = {f"message {n}": FIRST_CHAT + n % chats for n in range(messages)}
        await conn.execute(
            t.outbound_message.insert(),
            [
                {
                    "kind": Kind.STAFF_ANSWER.value,
                    "customer_id": ids[chat],
                    "channel": "telegram",
                    "address": str(chat),
                    "payload": {"text": words},
                    "priority": 1,
                    "status": Status.PENDING.value,
                    "attempts": 0,
                    "due_at": now,
                    "created_at": now,
                }
                for words, chat in texts.items()
            ],
        )
    return texts


async def unsent(db: AsyncEngine) -> int:
    async with db.connect() as conn:
        query = text("SELECT count(*) FROM outbound_message WHERE status <> 'sent'")
        return int((await conn.execute(query)).scalar_one())


# The rounds ------------------------------------------------------------------------------


async def workers_round(
    api: FakeBotAPI, label: str, workers: int, args: argparse.Namespace, *, shared: bool
) -> Row:
    """Queue the messages for `workers` chatshop processes to send; count what arrived."""
    url = await fresh_database()
    folder = Path(tempfile.mkdtemp(prefix="chatshop-delivery-"))
    log = folder / "workers.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "REDIS"))}
    env.update(
        DATABASE_URL=url,
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_URL=api.url,
        TELEGRAM_BOT_USERNAME="chatshop_bench_bot",
        TELEGRAM_SEND_RATE=str(args.rate),
        PAYMENTS_SECRET="benchmark",
        PYTHONUNBUFFERED="1",
    )
    if shared:
        env["REDIS_URL"] = REDIS
    db = create_async_engine(url)
    processes = []
    logs = [folder / f"worker-{n}.log" for n in range(workers)]
    try:
        upgrade = await chatshop("db", "upgrade", env=env, log=log)
        assert await upgrade.wait() == 0, log.read_text()
        for worker_log in logs:
            processes.append(await chatshop("worker", env=env, log=worker_log))
        async with asyncio.timeout(120):  # until every worker says it is sending
            while not all("Press Ctrl-C" in worker_log.read_text() for worker_log in logs):
                assert all(p.returncode is None for p in processes), "a worker exited"
                await asyncio.sleep(0.2)
        since, refused = api.mark(), api.flooded
        texts = await queue(db, args.messages, args.chats)
        started = time.monotonic()
        async with asyncio.timeout(args.messages / args.rate * 4 + 120):
            while True:  # until the outbox says every message went
                if not await unsent(db):
                    break
                await asyncio.sleep(0.5)
        return tally(label, texts, api.calls[since:], api.flooded - refused, started)
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
                await process.wait()
        await db.dispose()
        await drop_database(url)
        shutil.rmtree(folder, ignore_errors=True)
        if shared:
            redis = Redis.from_url(REDIS)
            keys = [
                key async for key in redis.scan_iter(match=f"*telegram:{api.token.split(':')[0]}*")
            ]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()


async def naive_round(api: FakeBotAPI, args: argparse.Namespace) -> Row:
    """Send the same messages in a plain loop, 64 at once, as fast as the loop goes."""
    texts = {f"message {n}": FIRST_CHAT + n % args.chats for n in range(args.messages)}
    bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url)))
    slots = asyncio.Semaphore(64)
    since, refused = api.mark(), api.flooded

    async def one(words: str, chat: int) -> None:
        # Refused (429): a naive sender does not try again.
        async with slots:
            with contextlib.suppress(TelegramRetryAfter):
                await bot.send_message(chat, words)

    started = time.monotonic()
    await asyncio.gather(*(one(words, chat) for words, chat in texts.items()))
    await bot.session.close()
    return tally("plain loop, no pacing", texts, api.calls[since:], api.flooded - refused, started)


async def main(args: argparse.Namespace) -> None:
    rows = []
    for workers in args.workers:
        # A bot per round: its send budget in Redis starts empty.
        async with fake_bot_api(f"{random.randrange(10**8, 10**9)}:bench-token") as api:
            api.flood_control(overall=max(30, args.rate), per_chat=1)
            label = f"chatshop: {workers} worker{'s' if workers > 1 else ''}, one budget in Redis"
            rows.append(await workers_round(api, label, workers, args, shared=True))
            print(f"{rows[-1].label}: {rows[-1].seconds:,.1f} s", flush=True)
    if args.unshared:
        async with fake_bot_api(f"{random.randrange(10**8, 10**9)}:bench-token") as api:
            api.flood_control(overall=max(30, args.rate), per_chat=1)
            label = "chatshop: 2 workers, each its own budget"
            rows.append(await workers_round(api, label, 2, args, shared=False))
            print(f"{rows[-1].label}: {rows[-1].seconds:,.1f} s", flush=True)
    async with fake_bot_api(f"{random.randrange(10**8, 10**9)}:bench-token") as api:
        api.flood_control(overall=max(30, args.rate), per_chat=1)
        rows.append(await naive_round(api, args))

    print()
    print(
        f"{args.messages} messages to {args.chats} chats at TELEGRAM_SEND_RATE={args.rate}; "
        f"Telegram (the fake) refuses past {max(30, args.rate)}/s and 1/s to a chat"
    )
    print(f"the rate allows: {args.messages / args.rate:,.1f} s")
    head = ("", "sent", "seconds", "per s", "max in 1 s", "max/chat/s", "429s", "dupes", "lost")
    print(f"{head[0]:<44}" + "".join(f"{h:>11}" for h in head[1:]))
    for row in rows:
        cells = (
            f"{row.sent:,}",
            f"{row.seconds:,.1f}",
            f"{row.rate:,.1f}",
            str(row.most_in_a_second),
            str(row.most_to_a_chat),
            f"{row.refused:,}",
            str(row.duplicates),
            f"{row.lost:,}",
        )
        print(f"{row.label:<44}" + "".join(f"{c:>11}" for c in cells))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument(
        "--chats", type=int, help="default: a fifth of the messages, at least twice the rate"
    )
    parser.add_argument("--rate", type=int, default=30, help="TELEGRAM_SEND_RATE")
    parser.add_argument(
        "--workers", default="1,2", help="worker counts to run, comma-separated (default 1,2)"
    )
    parser.add_argument(
        "--unshared", action="store_true", help="also two workers without Redis, each pacing alone"
    )
    parsed = parser.parse_args()
    parsed.workers = [int(n) for n in parsed.workers.split(",")]
    # Enough chats that one a second to each is not what holds the rate back.
    parsed.chats = parsed.chats or min(
        parsed.messages, max(64, parsed.messages // 5, 2 * parsed.rate)
    )
    asyncio.run(main(parsed))
