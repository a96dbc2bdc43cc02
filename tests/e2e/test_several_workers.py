"""Two `chatshop run` processes on one PostgreSQL and one Redis, behind one webhook, as a load balancer splits it.

Both serve one bot (the fake Bot API) by webhook on ports of their own; the test
posts each update to one and then the other, as a load balancer would. A
customer's conversation lives in Redis, so it carries on whichever worker gets
the next update; both run a delivery worker, and what the shop says unasked
(the paid order, its next status, the staff alert) must reach each recipient
once. "Once" is counted after the outbox shows every message sent.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import REDIS_URL, _required
from tests.fake_telegram import Call, FakeBotAPI, fake_bot_api
from tests.payment_support import free_socket
from tests.telegram_e2e_support import IPHONE, Running, charged, chat_message, poster_code, user

pytestmark = pytest.mark.postgres


@dataclass
class Balanced(Running):
    """The customer's side of a load balancer: each update goes to the next worker in turn."""

    workers: list[Running] = field(default_factory=list)
    handled_by: list[int] = field(default_factory=list)  # which worker took each update

    async def send(self, **event: Any) -> None:
        """Post an update to the next worker's webhook, as Telegram through a load balancer."""
        turn = len(self.handled_by) % len(self.workers)
        self.handled_by.append(turn)
        assert await self.workers[turn].deliver(self.api.update(**event)) == 200


@dataclass
class Cluster:
    customer: Balanced
    api: FakeBotAPI
    db: AsyncEngine
    ann: int  # the customer's Telegram id
    staff: int  # the staff member's

    async def outbox_done(self, sent: int) -> None:
        """Wait (bounded) until the outbox holds `sent` messages sent and nothing else."""
        query = text("SELECT status, count(*) FROM outbound_message GROUP BY status")
        async with asyncio.timeout(30):
            while True:
                async with self.db.connect() as conn:
                    counts = {row[0]: row[1] for row in await conn.execute(query)}
                if counts == {"sent": sent}:
                    return
                await asyncio.sleep(0.1)  # the next look at an observable condition

    def said_to(self, chat: int, words: str) -> list[Call]:
        """The messages Telegram took for `chat` that contain `words`."""
        return [
            c
            for c in self.api.calls
            if c.method == "sendMessage"
            and c.result is not None
            and int(c["chat_id"]) == chat
            and words in c.words
        ]


@pytest.fixture
async def cluster(tmp_path: Path, postgres_url: str) -> AsyncIterator[Cluster]:
    redis_url = _required(REDIS_URL, "Redis", "CHATSHOP_TEST_REDIS_URL")
    # Ids of this test's own: Redis keys are per bot, per Telegram user and per customer
    # row, and other tests use the same Redis database.
    bot_id, ann, staff = (random.randrange(10**8, 10**9) for _ in range(3))
    first_customer = random.randrange(10**6, 10**9)
    async with fake_bot_api(f"{bot_id}:several-workers-token") as api:
        settings = {
            "DATABASE_URL": postgres_url,
            "REDIS_URL": redis_url,
            "TELEGRAM_BOT_TOKEN": api.token,
            "ADMIN_TELEGRAM_IDS": str(staff),
        }
        workers = []
        for n in range(2):
            sock = free_socket()
            port = sock.getsockname()[1]
            sock.close()
            folder = tmp_path / f"worker-{n}"
            folder.mkdir()
            workers.append(Running(api, folder, port, webhook=True, settings=settings))
        await workers[0].staff("catalog", "demo")  # migrates the new database, then loads
        db = create_async_engine(postgres_url)
        async with db.begin() as conn:
            await conn.execute(text(f"SELECT setval('customer_id_seq', {first_customer})"))
        customer = Balanced(api, tmp_path, 0, webhook=True, settings=settings, workers=workers)
        try:
            await asyncio.gather(*(worker.start() for worker in workers))
            yield Cluster(customer, api, db, ann, staff)
        finally:
            for worker in workers:
                if worker.process is not None and worker.process.returncode is None:
                    assert await worker.stop() == 0, worker.output()
                    assert "Traceback" not in worker.output()
            await db.dispose()
            redis = Redis.from_url(redis_url)
            for pattern in (f"*{bot_id}*", f"*{ann}*", f"*{staff}*", f"*:{first_customer + 1}"):
                keys = [key async for key in redis.scan_iter(match=pattern)]
                if keys:
                    await redis.delete(*keys)
            await redis.aclose()


async def test_a_customer_moves_between_workers_pays_and_is_told_each_step_once(
    cluster: Cluster,
) -> None:
    shop, api, ann = cluster.customer, cluster.api, cluster.ann
    card = await shop.say(f"/start {poster_code(IPHONE)}", expect="iPhone 16 Pro", user_id=ann)
    assert card.button("add")
    found = await shop.say("iphnoe 128", expect="Found for", user_id=ann)
    product = next(b for b in found.buttons if "128GB Black" in b["text"])
    opened = await shop.press(found, product, expect="iPhone 16 Pro 128GB")
    await shop.press(opened, opened.button("add"), expect="Added 1")
    cart = await shop.say("/cart", expect="Your cart", user_id=ann)
    assert "iPhone 16 Pro 128GB" in cart.words  # what worker A added, worker B shows
    asked = await shop.press(cart, cart.button("co"), expect="phone")
    assert asked["reply_markup"]["keyboard"][0][0]["request_contact"] is True

    since = api.mark()
    contact = {"phone_number": "+15550001234", "first_name": "Ann", "user_id": ann}
    await shop.send(message=chat_message(ann, contact=contact))
    delivery = await shop.reply(since, "deliver", ann)  # the step the other worker asked
    since = api.mark()
    await shop.press(delivery, delivery.button("codlv", "pickup"))
    invoice = await api.wait_for(lambda c: c.method == "sendInvoice", since=since)
    total = sum(p["amount"] for p in invoice["prices"])

    since = api.mark()
    await shop.send(
        pre_checkout_query={
            "id": "pcq-1",
            "from": user(ann),
            "currency": "USD",
            "total_amount": total,
            "invoice_payload": invoice["payload"],
        }
    )
    answered = await api.wait_for(lambda c: c.method == "answerPreCheckoutQuery", since=since)
    assert answered["ok"] == "true"
    paid = charged(
        {"currency": "USD", "total_amount": total, "invoice_payload": invoice["payload"]}
    )
    await shop.send(message=chat_message(ann, successful_payment=paid))
    assert shop.handled_by == [0, 1] * 5  # every other update to the other worker

    order = invoice["title"].split("#")[1]
    await cluster.outbox_done(sent=3)  # to the customer, to all staff, to the staff member
    assert len(cluster.said_to(ann, f"Order #{order} is paid")) == 1
    assert len(cluster.said_to(cluster.staff, f"New paid order #{order}")) == 1

    await shop.workers[0].staff("orders", "set-status", order, "packed")  # a third process
    await cluster.outbox_done(sent=4)
    pushed = [c for c in cluster.said_to(ann, f"#{order}") if "Packed" in c.words]
    assert len(pushed) == 1
    assert len(cluster.said_to(ann, f"Order #{order} is paid")) == 1  # not again
