"""The shop with its WhatsApp channel composed as `chatshop run` composes it, against a fake Twilio.

The web app serves `POST /whatsapp/webhook` on loopback; customers' messages are
posted to it signed as Twilio signs them, and the shop's replies are read from the
fake Twilio REST API they were sent to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram.client.session.base import BaseSession
from pydantic import SecretStr

from bot.app import running_shop, stock_demo
from bot.delivery import DeliveryWorker
from bot.handlers.telegram.channel import TelegramChannel
from bot.handlers.whatsapp.channel import WEBHOOK_PATH, WhatsAppChannel
from bot.runner import Channels, open_channels
from bot.services import Shop
from bot.settings import Settings, TelegramSettings, TwilioSettings
from bot.web import build_web_app, serve
from shop.catalog_file import CatalogRow
from shop.models import Channel
from tests.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SENDER,
    FakeTwilio,
    Sent,
    customer_form,
    post_signed,
)
from tests.payment_support import free_socket
from tests.telegram_support import BOT_USERNAME, TOKEN, Harness, RecordingSession

NUMBER = "447700900123"  # the customer's WhatsApp number (WaId)


@dataclass
class WhatsApp:
    """A running shop with its WhatsApp channel, the fake Twilio it sends through, its webhook URL."""

    shop: Shop
    channel: WhatsAppChannel
    twilio: FakeTwilio
    url: str
    worker: DeliveryWorker
    channels: Channels  # Telegram's too, where it is configured beside WhatsApp

    async def post(self, form: dict[str, str], **how: Any) -> int:
        """Post a webhook form as Twilio would (signed); return the HTTP status."""
        return await post_signed(self.url, form, **how)

    async def say(self, body: str = "", *, number: str = NUMBER, **fields: str) -> list[Sent]:
        """Send a customer's message; return the replies it got, once all are sent."""
        before = len(self.twilio.sent)
        status = await self.post(customer_form(number, body, **fields))
        assert status == 200, status
        await self.channel.drained()
        return [m for m in self.twilio.sent[before:] if m.to == f"whatsapp:+{number}"]

    async def pushed(self) -> list[Sent]:
        """Deliver what the shop queued to say unasked; return what went out."""
        before = len(self.twilio.sent)
        while await self.worker.drain():
            pass
        return self.twilio.sent[before:]


def whatsapp_settings(database_url: str, base_url: str, twilio_url: str, **extra: Any) -> Settings:
    """Return settings that configure WhatsApp (and no Telegram) against the fake Twilio."""
    twilio = {"templates": {}, **extra.pop("whatsapp", {})}
    return Settings(
        database_url=database_url,
        public_base_url=base_url,
        payments_secret=SecretStr("whatsapp-test-secret"),
        payments_sandbox=True,
        twilio=TwilioSettings(
            account_sid=ACCOUNT_SID,
            auth_token=SecretStr(AUTH_TOKEN),
            whatsapp_from=SENDER,
            api_url=twilio_url,
            send_rate=1000,  # tests write faster than a sender's real throughput
            **twilio,
        ),
        **extra,
    )


@asynccontextmanager
async def whatsapp_shop(
    database_url: str,
    clock: Callable[[], datetime],
    twilio: FakeTwilio,
    *,
    rows: Sequence[CatalogRow] = (),
    session: BaseSession | None = None,
    **settings: Any,
) -> AsyncIterator[WhatsApp]:
    """Yield the demo shop (and `rows`) with its WhatsApp channel, its web server on loopback.

    `session` is the Telegram bot's, where the settings configure Telegram too.
    """
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = whatsapp_settings(database_url, base, twilio.url, **settings)
    async with running_shop(config, clock=clock) as shop:
        await stock_demo(shop, wanted=True)
        if rows:
            await shop.catalog.import_rows(rows)
        await shop.search.start()
        async with open_channels(shop, session=session, clock=clock) as channels:
            channel = channels.whatsapp
            assert channel is not None
            app = build_web_app(shop, extra_routes=[channel.webhook_route()])
            runner = await serve(app, host="127.0.0.1", port=0, sock=sock)
            worker = DeliveryWorker(shop, channels.conversations, {Channel.WHATSAPP.value: channel})
            try:
                yield WhatsApp(shop, channel, twilio, base + WEBHOOK_PATH, worker, channels)
            finally:
                await runner.cleanup()


@asynccontextmanager
async def both_channels(
    database_url: str, clock: Callable[[], datetime], twilio: FakeTwilio
) -> AsyncIterator[tuple[Harness, WhatsApp]]:
    """Yield one shop serving Telegram (on a recording session) and WhatsApp, as one person may use both."""
    session = RecordingSession()
    telegram = TelegramSettings(bot_token=SecretStr(TOKEN), bot_username=BOT_USERNAME)
    async with whatsapp_shop(
        database_url, clock, twilio, session=session, telegram=telegram, telegram_chat_rate=1000
    ) as wa:
        channel: TelegramChannel | None = wa.channels.telegram
        assert channel is not None
        yield Harness(wa.shop, wa.channels.conversations, channel, session, []), wa
