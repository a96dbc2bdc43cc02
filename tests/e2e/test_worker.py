"""`chatshop worker` as a subprocess: it sends what the shop queued, and leaves updates alone.

The shop of the test process stands for whatever changed the orders (a running shop,
a staff command); the worker is the only process that can send, through a fake
Telegram Bot API on loopback.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import running_shop
from bot.services import Shop
from bot.settings import Settings
from shop.models import Channel
from tests.cli_support import chatshop
from tests.fake_telegram import TOKEN, FakeBotAPI, fake_bot_api
from tests.payment_support import pending_order

CUSTOMER = 5_550_101
STAFF = 5_550_900


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[Shop]:
    """The shop's database on tmp_path/shop.db, open in the test process."""
    async with running_shop(Settings(database_url=_url(tmp_path))) as opened:
        yield opened


def _url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"


async def start_worker(tmp_path: Path, api: FakeBotAPI) -> asyncio.subprocess.Process:
    """Start `chatshop worker` sending through the fake Bot API, staff member STAFF told of orders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "REDIS"))}
    env.update(
        DATABASE_URL=_url(tmp_path),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api.url,
        ADMIN_TELEGRAM_IDS=str(STAFF),
        PAYMENTS_SECRET="e2e-payments-secret",
        PYTHONUNBUFFERED="1",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "worker",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def test_the_worker_alone_tells_customer_and_staff_once_and_takes_no_updates(
    tmp_path: Path, shop: Shop
) -> None:
    order = await pending_order(shop, customer=str(CUSTOMER), channel=Channel.TELEGRAM)
    await shop.orders.confirm_payment(order.id)

    async with fake_bot_api() as api:
        worker = await start_worker(tmp_path, api)
        try:
            paid = await api.wait_for(
                lambda c: c.method == "sendMessage" and int(c["chat_id"]) == CUSTOMER
            )
            alert = await api.wait_for(
                lambda c: c.method == "sendMessage" and int(c["chat_id"]) == STAFF
            )
            # A staff command in its own process moves the order on; the worker tells of it.
            since = api.mark()
            moved = await asyncio.to_thread(
                chatshop, tmp_path, "orders", "set-status", str(order.id), "packed"
            )
            assert moved.returncode == 0, moved.stderr
            packed = await api.wait_for(
                lambda c: c.method == "sendMessage" and int(c["chat_id"]) == CUSTOMER, since=since
            )
        finally:
            worker.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(worker.communicate(), 30)

        printed = output.decode()
        assert worker.returncode == 0, printed
        assert "Traceback" not in printed
        assert printed.rstrip().endswith("Stopped.")
        assert f"Order #{order.id} is paid" in paid.words
        assert f"#{order.id}" in alert.words
        assert "Packed" in packed.words
        to_customer = [c for c in api.of("sendMessage") if int(c["chat_id"]) == CUSTOMER]
        assert to_customer == [paid, packed]  # once each, though the worker ran on
        assert [c for c in api.of("sendMessage") if int(c["chat_id"]) == STAFF] == [alert]
        # Updates are the serving process's: the worker neither polls nor moves the webhook.
        touched = {c.method for c in api.calls} & {"getUpdates", "setWebhook", "deleteWebhook"}
        assert touched == set()
