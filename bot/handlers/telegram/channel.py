"""The Telegram channel, composed in one place: bot, session, dispatcher, pushes, webhook or polling.

`build_telegram` is the composition root of this channel: it builds every service
the handlers use once and hands them to the dispatcher as workflow data. Tests
pass a recording session instead of aiogram's HTTP one; nothing else changes.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BotCommandScopeDefault, Update
from aiohttp import web
from pydantic import SecretStr, ValidationError

from bot.delivery import RefusedError, RetryLaterError, UnreachableError
from bot.flows.engine import Conversations
from bot.flows.types import Reply
from bot.handlers.telegram import build_dispatcher
from bot.handlers.telegram.callbacks import KEY_PURPOSE, ButtonSigner
from bot.handlers.telegram.commands import menu
from bot.handlers.telegram.context import InOrder
from bot.handlers.telegram.links import ShopLinks
from bot.handlers.telegram.outgoing import Outgoing
from bot.handlers.telegram.paced import Paced, Sleep
from bot.handlers.telegram.render import Renderer
from bot.handlers.telegram.staff import TelegramStaffDesk
from bot.handlers.telegram.wire import hold_answer_types
from bot.limits import Gate, limited
from bot.pace import Pace
from bot.services import Shop
from bot.settings import Settings
from payments.keys import KeyRing, same
from shop.i18n import LOCALES
from shop.outbox import Outbound

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_PURPOSE = "telegram-webhook"
# Updates Telegram sends at once (setWebhook's max_connections), and so handles at once.
MAX_CONNECTIONS = 40
# An update is a message of at most 4,096 characters (24 KB as JSON escapes) with its entities,
# perhaps quoting another such message: tens of KB. Room for a few times that, and no more.
UPDATE_LIMIT = 256 * 1024
POLLING_TIMEOUT = 10  # seconds a getUpdates call waits for news
DRAIN_SECONDS = 10.0  # how long shutdown waits for updates being handled


@dataclass(eq=False)
class TelegramChannel:
    """A running Telegram bot: receives updates (polling or webhook) and pushes messages."""

    bot: Bot
    dispatcher: Dispatcher
    renderer: Renderer
    in_order: InOrder
    outgoing: Outgoing
    # Telegram sends it back in every webhook request; every worker behind the URL knows it.
    webhook_secret: SecretStr
    pace: Pace
    webhook_url: str | None = None
    _in_hand: Gate = field(default_factory=lambda: Gate("telegram webhook", MAX_CONNECTIONS))

    async def start(self) -> None:
        """List the commands in both languages and set or clear the webhook."""
        for locale in LOCALES:
            await self.bot.set_my_commands(
                menu(locale),
                scope=BotCommandScopeDefault(),
                language_code=None if locale == "en" else locale,
            )
        updates = self.dispatcher.resolve_used_update_types()
        if self.webhook_url:
            await self.bot.set_webhook(
                self.webhook_url,
                secret_token=self.webhook_secret.get_secret_value(),
                allowed_updates=updates,
                max_connections=MAX_CONNECTIONS,
            )
        else:
            await self.bot.delete_webhook()  # getUpdates is refused while a webhook is set

    async def poll(self) -> None:
        """Long-poll for updates until `stop_polling` (signals are the runner's to handle)."""
        await self.dispatcher.start_polling(
            self.bot,
            polling_timeout=POLLING_TIMEOUT,
            handle_signals=False,
            close_bot_session=False,
        )

    async def stop_polling(self) -> None:
        """Stop asking for updates (those being handled finish; see `close`)."""
        await self.dispatcher.stop_polling()

    def webhook_route(self) -> web.RouteDef:
        """Return the route Telegram posts updates to in webhook mode."""
        return web.post(WEBHOOK_PATH, self._webhook)

    async def _webhook(self, request: web.Request) -> web.Response:
        """Take one update from Telegram, only with our secret token; acknowledge it once handled.

        Telegram sends an update again until it is answered 200, so one that a crash
        or a failure interrupts is not lost: a successful payment above all.
        """
        if not same(self.webhook_secret.get_secret_value(), request.headers.get(SECRET_HEADER, "")):
            raise web.HTTPUnauthorized(text="wrong secret token")
        bounded = limited(request, UPDATE_LIMIT)
        with self._in_hand:
            try:
                update = Update.model_validate_json(await bounded.read(), context={"bot": self.bot})
            except ValidationError:  # not JSON, or not an update
                raise web.HTTPBadRequest(text="not a Telegram update") from None
            try:
                await self.dispatcher.feed_update(self.bot, update)
            except Exception:  # the error handlers could not even apologise: let Telegram retry
                log.exception(
                    "update %s failed; answered 500 for Telegram to send it again", update.update_id
                )
                raise web.HTTPInternalServerError(text="not handled; send it again") from None
        return web.json_response({"ok": True})

    @property
    def reports(self) -> bool:
        """Telegram tells nothing of a message after it is sent."""
        return False

    async def send(self, message: Outbound, replies: list[Reply]) -> list[str]:
        """Send what the shop says unasked to its chat, in its turn of the bot's budget.

        Returns the ids of the messages sent. How urgent it is (a push, a broadcast)
        is `bot.pace.URGENCY` in the caller's context.

        Raises:
            UnreachableError: the customer blocked the bot, or the chat is gone.
            RefusedError: Telegram refuses the message itself (it will not go as it is).
            RetryLaterError: Telegram asked to wait long, or could not be reached.
        """
        chat = int(message.address)
        try:
            shown = await self.renderer.send(chat, chat, replies)
        except TelegramForbiddenError as error:
            raise UnreachableError(error.message) from error
        except TelegramRetryAfter as error:
            raise RetryLaterError(error.message, error.retry_after) from error
        except TelegramBadRequest as error:
            if "chat not found" in error.message.lower():
                raise UnreachableError(error.message) from error
            raise RefusedError(error.message) from error
        except (TelegramNetworkError, TelegramServerError) as error:
            raise RetryLaterError(error.message) from error
        return [str(message) for message in shown]

    async def close(self) -> None:
        """Let the updates being handled finish (for a while), then close the HTTP session.

        Webhook updates are handled inside their requests, which the web server lets
        finish before this is called; these are the updates polling took, and the
        replies of both still waiting for their turn.
        """
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                await self.in_order.drained()
                await self.outgoing.drained()
        except TimeoutError:
            log.warning("shutting down with updates still being handled or answered")
        await self.outgoing.close()
        await self.bot.session.close()
        await self.pace.close()


def telegram_pace(settings: Settings) -> Pace:
    """Return the send budget of the bot the settings name: Telegram's limits, shared via Redis."""
    token = settings.telegram.bot_token
    if token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    bot_id = token.get_secret_value().split(":", 1)[0]  # the bot's id, not a secret
    return Pace(
        f"telegram:{bot_id}",
        overall=settings.telegram_send_rate,
        per_chat=settings.telegram_chat_rate,
        per_group=settings.telegram_group_rate,
        redis_url=settings.redis_url,
    )


def telegram_bot(
    settings: Settings,
    pace: Pace,
    *,
    session: BaseSession | None = None,
    sleep: Sleep = asyncio.sleep,
) -> Bot:
    """Return the bot the settings name, every message it sends paced by `pace`.

    It talks over aiogram's HTTP session, or `session` (which tests record); `sleep`
    is how the waits Telegram asks for (flood control) are made.
    """
    config = settings.telegram
    if config.bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    hold_answer_types()
    if session is None:
        api = TelegramAPIServer.from_base(config.api_url) if config.api_url else PRODUCTION
        session = AiohttpSession(api=api)
    session.middleware(Paced(pace, sleep=sleep))
    return Bot(config.bot_token.get_secret_value(), session=session)


async def build_telegram(
    shop: Shop,
    conversations: Conversations,
    bot: Bot,
    pace: Pace,
    staff_desk: TelegramStaffDesk,
) -> TelegramChannel:
    """Compose the Telegram channel around `bot` (paced by `pace`): the one place its services are built.

    `staff_desk` carries the questions `conversations` hand to staff, through `bot`.
    """
    settings = shop.settings
    config = settings.telegram
    secret = settings.payments_secret
    keys = KeyRing(shop.db, secret.get_secret_value() if secret else None)
    buttons = ButtonSigner(await keys.key(KEY_PURPOSE))
    webhook_secret = config.webhook_secret or SecretStr(
        secret_token(await keys.key(SECRET_PURPOSE))
    )
    username = config.bot_username or (await bot.me()).username or ""
    links = ShopLinks(username, shop.attribution)
    renderer = Renderer(bot, buttons)
    outgoing = Outgoing(renderer)
    in_order = InOrder()
    dispatcher = build_dispatcher(
        shop=shop,
        conversations=conversations,
        outgoing=outgoing,
        buttons=buttons,
        links=links,
        staff_desk=staff_desk,
        in_order=in_order,
    )
    return TelegramChannel(
        bot,
        dispatcher,
        renderer,
        in_order,
        outgoing,
        webhook_secret,
        pace,
        webhook_url=config.webhook_url,
    )


def secret_token(key: bytes) -> str:
    """Return `key` as a webhook secret token: Telegram allows 1-256 of ``A-Za-z0-9_-``."""
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode()
