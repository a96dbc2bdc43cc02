"""kill -9 in the middle of giving money back, then a restart: refunded exactly once.

`chatshop run` (and the staff's `chatshop orders refund`) run as real processes
against a fake Stripe on loopback. The fake holds the refund request, before or
after it has made the refund, while the test kills the process that asked; the
running shop then finishes the refund on its own. Stripe's idempotency keys, the
same on every try, make the retry harmless.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from payments.interface import PaymentRecord, PaymentStatus
from shop.migrate import upgrade
from shop.models import Channel, OrderStatus
from shop.views import OrderView
from tests.payment_support import (
    PAYMENTS_SECRET,
    STRIPE_KEY,
    STRIPE_WEBHOOK_SECRET,
    FakeStripe,
    fake_stripe,
    free_socket,
    pending_order,
    state,
    stripe_settings,
    stripe_signature,
)

WAIT = 90.0  # seconds any one observable condition may take (a refund waits out its grace)


@dataclass
class World:
    """A shop's database, the environment its processes share, and the fake Stripe."""

    tmp: Path
    stripe: FakeStripe
    port: int
    staff: Shop  # this test's own view of the database, as a staff process has it
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
        env.update(
            DATABASE_URL=self.staff.settings.database_url,
            STRIPE_API_KEY=STRIPE_KEY,
            STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
            STRIPE_API_BASE=self.stripe.url,
            HTTP_HOST="127.0.0.1",
            HTTP_PORT=str(self.port),
            PUBLIC_BASE_URL=self.url,
            PAYMENTS_SECRET=PAYMENTS_SECRET,
            PYTHONUNBUFFERED="1",
        )
        return env

    async def spawn(self, *args: str) -> asyncio.subprocess.Process:
        """Start `chatshop ARGS...` as a process of its own."""
        log = (self.tmp / f"process-{len(self.processes)}.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, stdout=log, stderr=log, env=self.env(), cwd=self.tmp
        )
        log.close()
        self.processes.append(process)
        return process

    async def run_shop(self) -> asyncio.subprocess.Process:
        """Start `chatshop run` and wait until it serves."""
        process = await self.spawn("run")
        async with asyncio.timeout(WAIT), aiohttp.ClientSession() as http:
            while True:
                if process.returncode is not None:
                    raise AssertionError(f"chatshop run exited: {self.output()}")
                try:
                    async with http.get(f"{self.url}/healthz") as answer:
                        if answer.status == 200:
                            return process
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)  # the next look at an observable condition

    async def kill(self, process: asyncio.subprocess.Process) -> None:
        """kill -9: no chance to clean anything up."""
        process.kill()
        await process.wait()

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp.glob("*.log")))

    async def payment_becomes(self, order: OrderView, status: PaymentStatus) -> PaymentRecord:
        """Wait (bounded) until the order's last payment is in `status`."""
        async with asyncio.timeout(WAIT):
            while True:
                payment = (await self.staff.payments.payments_for(order.id))[-1]
                if payment.status == status:
                    return payment
                await asyncio.sleep(0.1)  # the next look at an observable condition

    async def deliver(self, payload: bytes) -> tuple[int, str]:
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": stripe_signature(payload),
        }
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.url}/payments/stripe/webhook", data=payload, headers=headers
            ) as answer,
        ):
            return answer.status, await answer.text()

    async def paid_session(self, order: OrderView) -> bytes:
        """Start paying the order by link, pay on Stripe's page; return Stripe's webhook."""
        start = await self.staff.payments.start(order.id)
        payment = await self.staff.payments.payment(start.payment_id)
        assert payment is not None
        session = self.stripe.pay(payment.external_id or "")
        return self.stripe.event("checkout.session.completed", session)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    port = free_socket()
    number = port.getsockname()[1]
    port.close()
    async with fake_stripe() as stripe:
        settings = Settings(
            database_url=url,
            payments_secret=PAYMENTS_SECRET,
            public_base_url=f"http://127.0.0.1:{number}",
            stripe=stripe_settings(stripe),
        )
        staff = build_shop(settings)
        await upgrade(staff.db)
        made = World(tmp_path, stripe, number, staff)
        try:
            yield made
        finally:
            for process in made.processes:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            await staff.payments.close()
            await staff.db.dispose()


async def test_a_payment_for_a_cancelled_order_is_refunded_once_though_the_shop_is_killed_mid_refund(
    world: World,
) -> None:
    # Killed after Stripe refunded, before the shop knew: the hardest moment. A kill before
    # Stripe is asked is the same but simpler (tests/unit/test_settlement_recovery.py).
    shop = await world.run_shop()
    order = await pending_order(world.staff, channel=Channel.WHATSAPP)
    webhook = await world.paid_session(order)
    await world.staff.orders.transition(order.id, OrderStatus.CANCELLED, actor="customer")
    before = await state(world.staff, order.id)
    world.stripe.hold_refunds = "after"

    delivery = asyncio.create_task(world.deliver(webhook))
    async with asyncio.timeout(WAIT):
        await world.stripe.refund_asked.wait()
    await world.kill(shop)
    world.stripe.hold_refunds = None
    world.stripe.release.set()
    with pytest.raises(aiohttp.ClientError):
        await delivery  # Stripe saw no answer: it will deliver the event again
    stuck = (await world.staff.payments.payments_for(order.id))[-1]
    assert stuck.status == PaymentStatus.REFUNDING

    await world.run_shop()
    refunded = await world.payment_becomes(order, PaymentStatus.REFUNDED)

    assert [r["payment_intent"] for r in world.stripe.refunds] == [refunded.charge_id]
    assert refunded.refund_id == world.stripe.refunds[0]["id"]
    assert refunded.reason == "cannot_fulfil"
    assert await state(world.staff, order.id) == before  # the order stays cancelled
    status, answer = await world.deliver(webhook)  # Stripe's redelivery
    assert (status, json.loads(answer)["outcome"]) == (200, "duplicate")
    assert len(world.stripe.refunds) == 1


async def test_a_staff_refund_killed_after_stripe_refunded_is_finished_by_the_running_shop(
    world: World,
) -> None:
    await world.run_shop()
    order = await pending_order(world.staff, stock=5, quantity=2, channel=Channel.WHATSAPP)
    status, answer = await world.deliver(await world.paid_session(order))
    assert (status, json.loads(answer)["outcome"]) == (200, "paid")
    world.stripe.hold_refunds = "after"

    staff = await world.spawn("orders", "refund", str(order.id), "--reason", "damaged in transit")
    async with asyncio.timeout(WAIT):
        await world.stripe.refund_asked.wait()
    await world.kill(staff)
    world.stripe.hold_refunds = None
    world.stripe.release.set()
    assert (await state(world.staff, order.id))["order"][0] == "paid"

    refunded = await world.payment_becomes(order, PaymentStatus.REFUNDED)

    after = await state(world.staff, order.id)
    assert after["order"][0] == OrderStatus.REFUNDED
    assert after["stock"][0] == ("A", 5, 0)  # back on the shelf once
    assert after["timeline"] == ["pending_payment", "paid", "refunded"]
    assert len(world.stripe.refunds) == 1
    assert refunded.refund_id == world.stripe.refunds[0]["id"]
    details = await world.staff.orders.get(order.id)
    assert (details.events[-1].actor, details.events[-1].note) == (
        "staff:cli",
        "damaged in transit",
    )
