"""`chatshop run` and `chatshop worker`: the shop's long-running processes.

`run` brings the database up to date (the demo catalog into an empty shop while no
messenger channel is configured), starts search, serves the web routes (health,
payment pages and webhooks), runs every channel whose settings are present —
Telegram by long polling, or by webhook on the same web server when
TELEGRAM_WEBHOOK_URL is set — and does the background work: sending what the shop
says unasked, expiring unpaid orders' holds, recovering payments, reminding of
abandoned carts, counting what is bought together. `worker` does only the background work. Both stop cleanly on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from aiogram.client.session.base import BaseSession
from rich.console import Console
from rich.table import Table

from bot.app import conversations_for, running_shop, stock_demo
from bot.delivery import Deliverer, DeliveryWorker
from bot.flows.engine import Conversations
from bot.handlers.telegram.channel import (
    WEBHOOK_PATH,
    TelegramChannel,
    build_telegram,
    telegram_bot,
    telegram_pace,
)
from bot.handlers.telegram.paced import Sleep
from bot.handlers.telegram.staff import TelegramStaffDesk
from bot.handlers.whatsapp.channel import WEBHOOK_PATH as WHATSAPP_PATH
from bot.handlers.whatsapp.channel import WhatsAppChannel, build_whatsapp
from bot.services import Shop
from bot.settings import Settings
from bot.web import build_web_app, serve
from shop.models import Channel
from shop.types import utcnow

log = logging.getLogger(__name__)

SWEEP_EVERY = 30.0  # seconds between looks for unpaid orders whose hold ran out
REMIND_EVERY = 60.0  # seconds between looks for abandoned carts (sooner when one comes due)
TOGETHER_EVERY = 60.0  # seconds between folds of newly paid orders into "often bought together"

NO_CHANNEL = (
    "No channel is configured yet. To sell in Telegram set TELEGRAM_BOT_TOKEN (from @BotFather); "
    "for WhatsApp set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM "
    "(see README.md). To try the shop in this terminal now, run `chatshop demo`."
)


NO_SENDER = (
    "No channel is configured: what the shop says unasked waits for a process that can send it. "
    "Set TELEGRAM_BOT_TOKEN or TWILIO_* (see README.md) to send from here."
)

EMPTY_CATALOG = (
    "The catalog is empty: import yours with `chatshop catalog import FILE` (CSV or JSON, "
    "see README.md), or try the demo catalog with `chatshop catalog demo`."
)


@dataclass(frozen=True, slots=True)
class Channels:
    """The messenger channels a process runs over one shop, and the conversations they share."""

    conversations: Conversations
    telegram: TelegramChannel | None
    whatsapp: WhatsAppChannel | None = None

    def deliverers(self) -> dict[str, Deliverer]:
        """Return who sends what the shop says unasked, by channel."""
        found: dict[str, Deliverer] = {}
        if self.telegram is not None:
            found[Channel.TELEGRAM.value] = self.telegram
        if self.whatsapp is not None:
            found[Channel.WHATSAPP.value] = self.whatsapp
        return found


@asynccontextmanager
async def open_channels(
    shop: Shop,
    *,
    session: BaseSession | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], datetime] = utcnow,
) -> AsyncIterator[Channels]:
    """Compose every channel whose settings are present over `shop`; close them in order afterwards.

    `session` and `sleep` are the Telegram bot's HTTP session and waits (tests record them);
    `clock` tells WhatsApp's 24-hour window (tests move it).
    """
    settings = shop.settings
    desk = TelegramStaffDesk(settings.admin_telegram_ids, shop.tickets)
    conversations = conversations_for(shop, staff=desk if settings.admin_telegram_ids else None)
    try:
        telegram = None
        if settings.telegram.bot_token is not None:
            pace = telegram_pace(settings)
            bot = telegram_bot(settings, pace, session=session, sleep=sleep)
            try:
                telegram = await build_telegram(shop, conversations, bot, pace, desk)
            except BaseException:
                await bot.session.close()
                await pace.close()
                raise
        try:
            whatsapp = (
                build_whatsapp(shop, conversations, clock=clock)
                if settings.twilio.configured
                else None
            )
            try:
                yield Channels(conversations, telegram, whatsapp)
            finally:
                if whatsapp is not None:
                    await whatsapp.close()
        finally:
            if telegram is not None:
                await telegram.close()
    finally:
        await conversations.close()


async def run(settings: Settings, out: Console, *, stop: asyncio.Event | None = None) -> None:
    """Run the shop until SIGTERM or Ctrl-C (or `stop` is set), then shut everything down in order."""
    async with _until_signalled(stop) as stopping, running_shop(settings) as shop:
        await _describe(shop, await stock_demo(shop), out)
        if await shop.catalog.count(active_only=False) == 0:
            out.print(EMPTY_CATALOG)
        await shop.search.start()
        async with open_channels(shop) as channels:
            await _serve(shop, channels, out, stopping)
    out.print("Stopped.")


async def work(settings: Settings, out: Console, *, stop: asyncio.Event | None = None) -> None:
    """Do the shop's background work alone until SIGTERM or Ctrl-C: send, expire holds, recover.

    It serves no customers and no web routes: more of these share the sending with the
    processes that serve (on PostgreSQL, within one send budget kept in Redis).
    """
    async with (
        _until_signalled(stop) as stopping,
        running_shop(settings) as shop,
        open_channels(shop) as channels,
    ):
        deliverers = channels.deliverers()
        if not deliverers:
            out.print(NO_SENDER)
        for name in deliverers:
            out.print(f"Sending what the shop says unasked on {name}.")
        if channels.whatsapp is not None:  # messages a process died before handling
            await channels.whatsapp.start()
        background = background_work(shop, channels.conversations, deliverers)
        out.print("Press Ctrl-C to stop.")
        try:
            await _until(stopping, background)
        finally:
            out.print("Stopping…")
            await _cancel(background)
    out.print("Stopped.")


@asynccontextmanager
async def _until_signalled(stop: asyncio.Event | None) -> AsyncIterator[asyncio.Event]:
    """Yield an event that SIGTERM and Ctrl-C set (or `stop`, given), for as long as the block runs."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        yield stop
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


async def _serve(shop: Shop, channels: Channels, out: Console, stop: asyncio.Event) -> None:
    """Serve the web routes and run the channels until `stop`; then stop them in order."""
    settings = shop.settings
    telegram, whatsapp = channels.telegram, channels.whatsapp
    polling = telegram is not None and not telegram.webhook_url
    routes = [telegram.webhook_route()] if telegram is not None and not polling else []
    if whatsapp is not None:
        routes.append(whatsapp.webhook_route())
    site = await serve(
        build_web_app(shop, extra_routes=routes), host=settings.http_host, port=settings.http_port
    )
    out.print(
        f"Serving on http://{settings.http_host}:{settings.http_port} "
        "(GET /healthz; payment pages and webhooks)."
    )
    background = background_work(shop, channels.conversations, channels.deliverers())
    try:
        if telegram is None and whatsapp is None:
            out.print(NO_CHANNEL)
        if whatsapp is not None:
            await whatsapp.start()
            out.print(
                f"WhatsApp: webhook at {WHATSAPP_PATH}, for Twilio to call at {whatsapp.webhook_url}."
            )
        if telegram is not None:
            await telegram.start()
            if polling:
                out.print("Telegram: long polling for updates.")
                background.append(asyncio.create_task(telegram.poll()))
            else:
                out.print(f"Telegram: webhook at {WEBHOOK_PATH}, set to {telegram.webhook_url}.")
        out.print("Press Ctrl-C to stop.")
        freeze_startup_objects()
        await _until(stop, background)
    finally:
        out.print("Stopping…")
        if telegram is not None and polling:
            with contextlib.suppress(RuntimeError):  # polling had not started
                await telegram.stop_polling()
        await _cancel(background)
        await site.cleanup()  # no new webhooks or payments


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel background tasks and wait until each has stopped."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def background_work(
    shop: Shop, conversations: Conversations, deliverers: Mapping[str, Deliverer]
) -> list[asyncio.Task[None]]:
    """Start the shop's background work: sending what it says unasked, lapsed holds, payments, carts.

    Any number of processes may run it at once on one database (`chatshop run`, `chatshop
    worker`): each piece takes what it does in a way that shares it out.
    """
    staff_ids = shop.settings.admin_telegram_ids
    staff = [(Channel.TELEGRAM.value, str(staff_id)) for staff_id in staff_ids]
    worker = DeliveryWorker(shop, conversations, deliverers, staff=staff)
    return [
        asyncio.create_task(worker.run()),
        _forever(shop.orders.expire_holds, SWEEP_EVERY, "expiring holds"),
        _forever(shop.payments.settlement.recover, SWEEP_EVERY, "recovering payments"),
        _forever(shop.reminders.remind, REMIND_EVERY, "reminding of carts"),
        _forever(shop.together.fold, TOGETHER_EVERY, "counting what is bought together"),
    ]


def freeze_startup_objects() -> None:
    """Leave what startup built (modules, the catalog's index, the bot) out of garbage collection.

    Those few hundred thousand objects live as long as the process; left in the
    collector's oldest generation, each full collection walks them all again, a
    pause of a few hundred milliseconds every few seconds under load
    (benchmarks/updates.py). Frozen, a collection looks only at what came later.
    """
    gc.freeze()


async def _until(stop: asyncio.Event, background: list[asyncio.Task[None]]) -> None:
    """Wait for a stop signal, or for a background task to fail (which is raised)."""
    waiting = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait([waiting, *background], return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
    for task in done:
        error = None if task is waiting or task.cancelled() else task.exception()
        if error is not None:
            raise error


def _forever(work: Callable[[], Awaitable[object]], every: float, what: str) -> asyncio.Task[None]:
    """Start a task doing `work` now and then every `every` seconds; a failure is logged.

    When `work` returns a time (the next thing it has scheduled), it runs again then, if sooner.
    """

    async def loop() -> None:
        while True:
            wait = every
            try:
                due = await work()
            except Exception:
                log.exception("%s failed; trying again in %s s", what, every)
            else:
                if isinstance(due, datetime):
                    wait = min(every, max(0.0, (due - utcnow()).total_seconds()))
            await asyncio.sleep(wait)

    return asyncio.create_task(loop())


async def _describe(shop: Shop, loaded: int, out: Console) -> None:
    """Print what the shop sells (the demo catalog just loaded, the categories) and how it takes money."""
    if loaded:
        out.print(f"Loaded the demo catalog: {loaded} products.")
    table = Table(title=f"Catalog in {shop.db.url.render_as_string(hide_password=True)}")
    table.add_column("Category")
    table.add_column("Products", justify="right")
    for summary in await shop.catalog.categories():
        table.add_row(summary.category.name, str(summary.products))
    out.print(table)
    for line in payment_lines(shop):
        out.print(line)


def payment_lines(shop: Shop) -> list[str]:
    """Return how the shop takes money, one line per way, saying which ways take real money."""
    lines = [
        f"Payments: {method.pays_for} through {method.provider}: "
        + ("REAL money." if method.live else "TEST payments, no money moves.")
        for method in shop.payments.methods()
    ]
    if shop.payments.link_provider is None:
        lines.append(
            "Payments: no payment links. Customers outside Telegram's payment form cannot pay; "
            "set STRIPE_API_KEY (or PAYMENTS_SANDBOX=true for test payments)."
        )
    return lines
