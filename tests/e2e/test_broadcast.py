"""A broadcast to thousands of Telegram customers: once each, within the limits, across a kill -9.

Staff send it with `chatshop broadcast send`; `chatshop run` delivers it through
the fake Bot API with its flood control on (at a fast rate, for a short test, that
the shop is configured to keep to). Some customers blocked the bot (the fake
answers 403), some opted out. Halfway, Telegram stops answering for a moment
(sends in flight, none answered) and the server is killed with SIGKILL, then
started again. Every eligible customer gets the broadcast exactly once, Telegram
never has to refuse a send for flooding, blocked and opted-out customers get
nothing, and `chatshop broadcast status --json` adds up.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import Counter
from pathlib import Path

from sqlalchemy import ColumnElement, func, select, update

from bot.app import running_shop
from bot.settings import Settings
from shop import tables as t
from shop.db import Database
from shop.models import Channel
from shop.outbox import Status
from shop.types import utcnow
from tests.broadcast_support import add_customers
from tests.cli_support import chatshop
from tests.fake_telegram import Call, FakeBotAPI, fake_bot_api
from tests.payment_support import free_socket
from tests.telegram_e2e_support import Running

RATE = 150  # messages a second in all, at the fake and in the shop's settings
CUSTOMERS = 3000
FIRST = 6_000_000
BLOCKED = set(range(FIRST + 25, FIRST + CUSTOMERS, 50))  # every 50th blocked the bot
OPTED_OUT = 100
FIRST_OPTED_OUT = 7_000_000
TEXT = "Spring sale: 20% off everything this week"
o = t.outbound_message.c


def delivered(api: FakeBotAPI) -> list[Call]:
    """Return the broadcast's sends Telegram took (not refused, not left unanswered)."""
    return [c for c in api.of("sendMessage") if c.result is not None and c["text"] == TEXT]


async def count(url: str, *where: ColumnElement[bool]) -> int:
    """Return how many rows match `where` (outbound messages, or customers), on the shop's database."""
    db = Database(url)
    try:
        query = select(func.count()).where(*where)
        return int(await db.read(lambda conn: conn.execute(query).scalar_one()))
    finally:
        await db.dispose()


async def until_recorded(url: str, api: FakeBotAPI) -> None:
    """Wait (bounded) until the shop has recorded every send Telegram answered: sent, or failed (403)."""
    done = o.status.in_((Status.SENT, Status.FAILED))
    async with asyncio.timeout(30):
        while True:
            if await count(url, done) >= len(delivered(api)) + api.forbidden:
                return
            await asyncio.sleep(0.05)  # the next look at an observable condition


async def lapse_leases(url: str) -> None:
    """End the lease of every message in hand, as two minutes after its process died end it."""
    db = Database(url)
    lapsed = (
        update(t.outbound_message).where(o.status == Status.SENDING).values(lease_until=utcnow())
    )
    try:
        await db.write(lambda conn: conn.execute(lapsed))
    finally:
        await db.dispose()


def busiest_second(calls: list[Call]) -> int:
    """Return the most sends Telegram took within any one second."""
    times = sorted(c.at for c in calls)
    start, most = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_a_broadcast_reaches_each_eligible_customer_once_within_the_limits_across_a_kill(
    tmp_path: Path, demo_database: Path
) -> None:
    shutil.copy(demo_database, tmp_path / "shop.db")
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    async with running_shop(Settings(database_url=url)) as shop:
        await add_customers(shop, Channel.TELEGRAM, FIRST, CUSTOMERS)
        await add_customers(shop, Channel.TELEGRAM, FIRST_OPTED_OUT, OPTED_OUT, consent=False)
    send = ("broadcast", "send", "--text", TEXT, "--channel", "telegram")
    sent = await asyncio.to_thread(chatshop, tmp_path, *send)
    assert sent.returncode == 0, sent.stderr
    broadcast_id = int(sent.stdout)

    async with fake_bot_api() as api:
        api.flood_control(overall=RATE, per_chat=1)
        api.blocked = BLOCKED
        api.refuse("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        limits = {"TELEGRAM_SEND_RATE": str(RATE), "TELEGRAM_CHAT_RATE": "1"}
        server = Running(api, tmp_path, port, settings=limits)
        await server.start()
        try:
            await api.wait_for(lambda c: c.index >= CUSTOMERS // 2, timeout=60)
            # Telegram stops answering: sends are in flight, none gets through. Once the
            # shop has recorded every send that did, the server is killed.
            api.stall("sendMessage")
            await until_recorded(url, api)
            await server.kill()
            api.unstall("sendMessage")
            halfway = len(delivered(api))
            # Two minutes pass before a restarted server takes a dead one's messages (their
            # lease, a constant in bot/delivery.py): the test ends the leases in the
            # database instead, which is what those minutes are to the rule.
            await lapse_leases(url)
            await server.start()
            await server.all_told(timeout=90)
        finally:
            assert await server.stop() == 0, server.output()
    status = await asyncio.to_thread(
        chatshop, tmp_path, "broadcast", "status", str(broadcast_id), "--json"
    )

    eligible = set(range(FIRST, FIRST + CUSTOMERS)) - BLOCKED
    got = delivered(api)
    assert 0 < halfway < len(eligible)  # killed halfway
    assert Counter(int(c["chat_id"]) for c in got) == Counter(eligible)  # each exactly once
    assert api.flooded == 0  # never over the limit, as the fake counts
    assert busiest_second(got) <= RATE
    # The one send refused with retry_after went again no sooner than Telegram asked.
    refused = next(c for c in api.of("sendMessage") if c.result is None)
    again = next(c for c in got if c["chat_id"] == refused["chat_id"])
    assert again.at - refused.at >= 1.0
    # Blocked customers: refused once (twice if in flight at the kill), never retried on.
    to_blocked = Counter(
        int(c["chat_id"]) for c in api.of("sendMessage") if int(c["chat_id"]) in BLOCKED
    )
    assert set(to_blocked) == BLOCKED
    assert max(to_blocked.values()) <= 2
    assert api.forbidden == len(BLOCKED)
    c = t.customer.c
    assert await count(url, c.unreachable_at.is_not(None)) == len(BLOCKED)  # marked unreachable
    assert json.loads(status.stdout) == {
        "id": broadcast_id,
        "text": TEXT,
        "segment": "all",
        "channel": "telegram",
        "state": "done",
        "total": CUSTOMERS,
        "sent": len(eligible),
        "failed": len(BLOCKED),
        "pending": 0,
    }
    assert "Traceback" not in server.output()
