"""`chatshop run` and `chatshop worker` in-process: they sweep unpaid orders whose hold ran out,
count what is bought together, and stop when told."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bot.app import build_shop, running_shop
from bot.runner import payment_lines, run, work
from bot.services import Shop
from bot.settings import Settings, StripeSettings, TelegramSettings
from shop.models import OrderStatus
from shop.types import utcnow
from tests.conftest import FakeClock, row
from tests.payment_support import free_socket, pending_order
from tests.together_support import place, product_id

Process = Callable[..., Coroutine[Any, Any, None]]


RUN_SAYS = (
    "Payments: payment links through sandbox: TEST payments, no money moves.",
    "No channel is configured yet",
    "chatshop demo",
)
WORKER_SAYS = ("No channel is configured: what the shop says unasked waits",)


@pytest.mark.parametrize(
    ("process", "says"), [(run, RUN_SAYS), (work, WORKER_SAYS)], ids=["run", "worker"]
)
async def test_the_shop_and_the_worker_alone_sweep_holds_count_pairs_and_stop_cleanly(
    tmp_path: Path, process: Process, says: tuple[str, ...]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    # An order placed an hour ago: its 30-minute hold has run out, unpaid.
    an_hour_ago = FakeClock(utcnow() - timedelta(hours=1))
    async with running_shop(Settings(database_url=url), clock=an_hour_ago) as earlier:
        order = await pending_order(earlier)
        await earlier.catalog.import_rows([row("TEA"), row("CUP")])
        await place(earlier, "2", ["TEA", "CUP"])
        tea = await product_id(earlier, "TEA")

    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    out = io.StringIO()
    stop = asyncio.Event()
    running = asyncio.create_task(
        process(Settings(database_url=url, http_port=port), Console(file=out, width=200), stop=stop)
    )

    try:
        async with running_shop(Settings(database_url=url)) as shop:
            async with asyncio.timeout(30):
                while not await _swept_and_counted(shop, order.id, tea):
                    # the first sweep and the first fold run as the process starts
                    assert not running.done(), out.getvalue()
                    await asyncio.sleep(0.05)  # the next look at an observable condition
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)

    printed = out.getvalue()
    assert [line for line in says if line not in printed] == []
    assert printed.rstrip().endswith("Stopped.")


async def _swept_and_counted(shop: Shop, order_id: int, tea: int) -> bool:
    """Tell whether the lapsed order is cancelled, and the cup counted as bought with tea."""
    if (await shop.orders.get(order_id)).order.status != OrderStatus.CANCELLED:
        return False
    found = await shop.together.suggest([tea], [tea])
    return [(s.product.sku, s.together) for s in found] == [("CUP", True)]


def test_the_runner_says_which_ways_of_paying_take_real_money(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    live = build_shop(
        Settings(
            database_url=url,
            telegram=TelegramSettings(bot_token="1:x", payment_provider_token="381764678:LIVE:x"),
            stripe=StripeSettings(api_key="sk_live_x"),
        )
    )
    testing = build_shop(
        Settings(
            database_url=url,
            telegram=TelegramSettings(bot_token="1:x", payment_provider_token="284685063:TEST:x"),
        )
    )

    assert payment_lines(live) == [
        "Payments: digital goods in Telegram (Stars) through stars: REAL money.",
        "Payments: physical goods in Telegram (card invoices) through telegram: REAL money.",
        "Payments: payment links through stripe: REAL money.",
    ]
    assert payment_lines(testing) == [
        "Payments: digital goods in Telegram (Stars) through stars: REAL money.",
        "Payments: physical goods in Telegram (card invoices) through telegram: "
        "TEST payments, no money moves.",
        "Payments: no payment links. Customers outside Telegram's payment form cannot pay; "
        "set STRIPE_API_KEY (or PAYMENTS_SANDBOX=true for test payments).",
    ]
