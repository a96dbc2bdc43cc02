"""`chatshop run` in-process: it sweeps unpaid orders whose hold ran out, and stops when told."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import select

from bot.runner import payment_lines, run
from bot.settings import Settings, StripeSettings, TelegramSettings
from bot.wiring import build_shop, prepare
from shop import tables as t
from shop.types import utcnow
from tests.conftest import FakeClock
from tests.payment_support import free_socket, pending_order


async def test_the_runner_sweeps_lapsed_holds_and_stops_cleanly(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    # An order placed an hour ago: its 30-minute hold has run out, unpaid.
    earlier = build_shop(Settings(database_url=url), clock=FakeClock(utcnow() - timedelta(hours=1)))
    await prepare(earlier)
    order = await pending_order(earlier)
    await earlier.db.dispose()

    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    out = io.StringIO()
    stop = asyncio.Event()
    running = asyncio.create_task(
        run(Settings(database_url=url, http_port=port), Console(file=out, width=200), stop=stop)
    )

    shop = build_shop(Settings(database_url=url))
    try:
        async with asyncio.timeout(30):
            while True:  # the first sweep runs as the shop starts
                status = await shop.db.read(
                    lambda conn: conn.execute(
                        select(t.order.c.status).where(t.order.c.id == order.id)
                    ).scalar_one()
                )
                if status == "cancelled":
                    break
                assert not running.done(), out.getvalue()
                await asyncio.sleep(0.05)  # the next look at an observable condition
    finally:
        await shop.db.dispose()
        stop.set()
        await asyncio.wait_for(running, 30)

    printed = out.getvalue()
    assert "Payments: payment links through sandbox: TEST payments, no money moves." in printed
    assert "No channel is configured yet" in printed
    assert "chatshop demo" in printed
    assert printed.rstrip().endswith("Stopped.")


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
