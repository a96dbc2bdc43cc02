"""What the Telegram tests share: a recording Bot API session and real Update objects.

`RecordingSession` is aiogram's `MockedBot` habit (tests/mocked_bot.py) made a
little stricter: every request is encoded exactly as `AiohttpSession` would put
it on the wire (the same form fields, JSON-encoded values, attached files), the
encoded form is kept for the test to read, and the answer goes back through
aiogram's own response parsing. Answers come from a queue per method
(`add_result_for`), or else a plausible default (a sent message, `true`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update
from pydantic import SecretStr

from bot.app import running_shop, stock_demo
from bot.delivery import DeliveryWorker
from bot.flows.engine import Conversations
from bot.handlers.telegram.channel import TelegramChannel
from bot.runner import open_channels
from bot.services import Shop
from bot.settings import Settings, TelegramSettings
from shop.catalog_file import CatalogRow

BOT_ID = 42
BOT_USERNAME = "chatshop_test_bot"
TOKEN = f"{BOT_ID}:TEST-token-for-chatshop"
USER_ID = 1001
_MESSAGE_METHODS = {
    "sendMessage",
    "sendPhoto",
    "sendInvoice",
    "editMessageText",
    "editMessageCaption",
    "editMessageMedia",
}


@dataclass(frozen=True, slots=True)
class Held:
    """A Bot API call kept waiting, as on a slow network, until the test lets it through."""

    reached: asyncio.Event
    released: asyncio.Event

    def release(self) -> None:
        self.released.set()


@dataclass(frozen=True, slots=True)
class Sent:
    """One request as the Bot API server would receive it: the method and its form fields."""

    method: str
    fields: dict[str, Any]  # JSON values decoded (reply_markup, prices, ...)
    request: TelegramMethod[Any]
    answer: dict[str, Any]  # what the server answered: {"ok": ..., "result": ...}

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.fields

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Every inline button of the request's reply_markup, row by row."""
        markup = self.fields.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    @property
    def words(self) -> str:
        """The text or caption sent."""
        return str(self.fields.get("text") or self.fields.get("caption") or "")

    def button(self, action: str) -> dict[str, Any]:
        """Return the first button whose callback data carries `action`."""
        for button in self.buttons:
            if str(button.get("callback_data", "")).split("|")[1:2] == [action]:
                return button
        raise AssertionError(f"no {action!r} button in {self.buttons}")


class RecordingSession(AiohttpSession):
    """A Bot API session without a network: records what it would send, answers from a queue."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []
        self._queued: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self._held: dict[str, Held] = {}
        self._ids = itertools.count(1000)

    def add_result_for(
        self,
        method: str,
        *,
        ok: bool = True,
        result: Any = None,
        error_code: int = 200,
        description: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Queue the answer to the next `method` call (`ok=False` for an error)."""
        answer: dict[str, Any] = {"ok": ok, "error_code": error_code}
        if result is not None:
            answer["result"] = result
        if description is not None:
            answer["description"] = description
        if retry_after is not None:
            answer["parameters"] = {"retry_after": retry_after}
        self._queued[method].append(answer)

    def add_raw_result_for(self, method: str, content: str, *, status: int = 502) -> None:
        """Queue something that is no Bot API answer at all (a proxy's error page) for `method`."""
        self._queued[method].append({"raw": content, "status": status})

    def hold(self, method: str) -> Held:
        """Keep the next `method` call waiting until `release()`; `reached` is set when it comes."""
        held = self._held[method] = Held(asyncio.Event(), asyncio.Event())
        return held

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's BaseSession signature
    ) -> TelegramType:
        name = method.__api_method__
        held = self._held.pop(name, None)
        if held is not None:
            held.reached.set()
            await held.released.wait()
        body = await self.build_form_data(bot, method)().as_bytes()
        fields = {key: form_value(value) for key, value in parse_qsl(body.decode())}
        queued = self._queued[name]
        answer = queued.popleft() if queued else {"ok": True, "result": self._default(name, fields)}
        if "raw" in answer:
            self.sent.append(Sent(name, fields, method, answer))
            self.check_response(bot, method, answer["status"], answer["raw"])  # raises
        status = int(answer.pop("error_code", 200)) if answer["ok"] else int(answer["error_code"])
        self.sent.append(Sent(name, fields, method, answer))
        response = self.check_response(bot, method, status, json.dumps(answer))
        return response.result  # type: ignore[return-value]

    def _default(self, name: str, fields: dict[str, Any]) -> Any:
        if name == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Shop", "username": BOT_USERNAME}
        if name == "sendMediaGroup":  # a message a photo
            chat_id = int(fields["chat_id"])
            return [
                message_json(chat_id=chat_id, message_id=next(self._ids), photo=True, from_bot=True)
                for _ in fields["media"]
            ]
        if name in _MESSAGE_METHODS:
            return message_json(
                chat_id=int(fields.get("chat_id", USER_ID)),
                message_id=int(fields.get("message_id", next(self._ids))),
                text=fields.get("text"),
                photo=name == "sendPhoto" or name == "editMessageMedia",
                from_bot=True,
            )
        return True

    async def close(self) -> None:
        pass

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - aiogram's BaseSession signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:  # pragma: no cover - never downloads
        yield b""

    # Reading what was sent -------------------------------------------------------------

    def of(self, *methods: str) -> list[Sent]:
        """Return the requests of these methods, oldest first."""
        return [sent for sent in self.sent if sent.method in methods]

    def last(self, *methods: str) -> Sent:
        """Return the newest request of these methods."""
        found = self.of(*methods)
        assert found, f"no {methods} among {[s.method for s in self.sent]}"
        return found[-1]

    def clear(self) -> None:
        """Forget what was sent so far."""
        self.sent.clear()


def form_value(value: str) -> Any:
    """Return a form value as the Bot API server reads it: JSON objects and arrays decoded."""
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# Updates -------------------------------------------------------------------------------

_update_ids = itertools.count(1)


def user_json(user_id: int = USER_ID, *, language: str | None = "en") -> dict[str, Any]:
    """Return a Telegram user as JSON."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Ann", "last_name": "Lee"}
    if language is not None:
        user["language_code"] = language
    return user


def message_json(
    *,
    chat_id: int = USER_ID,
    message_id: int | None = None,
    text: str | None = None,
    photo: bool = False,
    from_bot: bool = False,
    user_id: int | None = None,
    language: str | None = "en",
    **extra: Any,
) -> dict[str, Any]:
    """Return a private-chat message as JSON."""
    sender = (
        {"id": BOT_ID, "is_bot": True, "first_name": "Shop", "username": BOT_USERNAME}
        if from_bot
        else user_json(user_id or chat_id, language=language)
    )
    message: dict[str, Any] = {
        "message_id": message_id if message_id is not None else next(_update_ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "Ann"},
        "from": sender,
        **extra,
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if photo:
        message["photo"] = [{"file_id": "f1", "file_unique_id": "u1", "width": 90, "height": 90}]
        message["caption"] = "card"
    return message


def update_json(**event: Any) -> dict[str, Any]:
    """Return an update carrying one event (message=..., callback_query=..., ...)."""
    return {"update_id": next(_update_ids), **event}


def update(bot: Bot, **event: Any) -> Update:
    """Return a real Update object, mounted on `bot`."""
    return Update.model_validate(update_json(**event), context={"bot": bot})


# A shop with the Telegram channel on a recording session ---------------------------------

PROVIDER_TOKEN = "284685063:TEST:chatshop"


@dataclass
class Harness:
    """The whole stack under test: the shop, the real conversation engine, the Telegram channel."""

    shop: Shop
    conversations: Conversations
    channel: TelegramChannel
    session: RecordingSession
    waits: list[float]
    staff_ids: tuple[int, ...] = ()

    @property
    def bot(self) -> Bot:
        return self.channel.bot

    async def delivered(self) -> list[Sent]:
        """Send what the shop queued to say unasked, as the delivery worker does; return the requests."""
        before = len(self.session.sent)
        staff = [("telegram", str(staff_id)) for staff_id in self.staff_ids]
        worker = DeliveryWorker(
            self.shop, self.conversations, {"telegram": self.channel}, staff=staff
        )
        while await worker.drain():
            pass
        return self.session.sent[before:]

    async def feed(self, **event: Any) -> list[Sent]:
        """Feed one update through the dispatcher; return the requests it made, replies sent."""
        before = len(self.session.sent)
        await self.channel.dispatcher.feed_update(self.bot, update(self.bot, **event))
        await self.channel.outgoing.drained()
        return self.session.sent[before:]

    async def say(self, text: str, *, user: int = USER_ID, language: str | None = "en") -> Sent:
        """Type a message in the bot's chat; return the last message the bot sent back."""
        sent = await self.feed(
            message=message_json(chat_id=user, text=text, language=language, user_id=user)
        )
        return _last_message(sent)

    async def press(
        self, on: Sent, action: str, *, user: int = USER_ID, data: str | None = None
    ) -> list[Sent]:
        """Press the `action` button of a message the bot sent (or send `data` as if it were one)."""
        return await self.feed(callback_query=pressing(on, action, user=user, data=data))


def pressing(
    on: Sent, action: str, *, user: int = USER_ID, data: str | None = None
) -> dict[str, Any]:
    """Return the callback query of pressing the `action` button of a message the bot sent."""
    callback_data = data if data is not None else on.button(action)["callback_data"]
    result = on.answer.get("result")
    message = result if isinstance(result, dict) else message_json(chat_id=user)
    return {
        "id": f"cb{next(_update_ids)}",
        "from": user_json(user),
        "chat_instance": "ci",
        "message": message,
        "data": callback_data,
    }


def _last_message(sent: list[Sent]) -> Sent:
    messages = [s for s in sent if s.method in _MESSAGE_METHODS]
    assert messages, f"the bot sent no message: {[s.method for s in sent]}"
    return messages[-1]


def last_message(sent: list[Sent]) -> Sent:
    """Return the last message among requests (sent or edited)."""
    return _last_message(sent)


IPHONE = "APL-IP16P-128-BTI"  # of the demo catalog


async def buy(
    tg: Harness,
    sku: str = IPHONE,
    *,
    user: int = USER_ID,
    language: str = "en",
    phone: str = "+15550001234",
) -> Sent:
    """Buy now from a product's deep link through checkout; return the invoice or payment link.

    Asked for a phone number, the customer shares their own contact, carrying `phone`.
    """
    card = await tg.say(f"/start p-{sku}", user=user, language=language)
    asked = last_message(await tg.press(card, "buy", user=user))
    if "request_contact" in str(asked.get("reply_markup")):
        shared = message_json(
            chat_id=user,
            contact={"phone_number": phone, "first_name": "Ann", "user_id": user},
        )
        asked = last_message(await tg.feed(message=shared))
    if "codlv" in str(asked.get("reply_markup")):
        pickup = next(b for b in asked.buttons if "|pickup|" in str(b.get("callback_data")))
        asked = last_message(
            await tg.press(asked, "codlv", data=pickup["callback_data"], user=user)
        )
    return asked


@asynccontextmanager
async def telegram_shop(
    database_url: str,
    clock: Callable[[], datetime],
    *,
    provider_token: str | None = PROVIDER_TOKEN,
    username: str | None = None,
    staff_ids: tuple[int, ...] = (),
    rows: Sequence[CatalogRow] = (),
    payments_secret: str | None = "telegram-test-secret",
    webhook_secret: str | None = None,
    api_url: str | None = None,
    sandbox: bool | None = None,
) -> AsyncIterator[Harness]:
    """Yield the demo shop (and `rows`) with its Telegram channel composed as `chatshop run` composes it.

    The channel's own calls are recorded; `api_url` is where calls the shop makes without
    the channel go (a Stars refund), a fake Bot API on loopback.
    """
    settings = Settings(
        database_url=database_url,
        # Tests press and type faster than Telegram lets a bot write to one chat.
        telegram_chat_rate=1000,
        admin_telegram_ids=list(staff_ids),
        payments_secret=SecretStr(payments_secret) if payments_secret else None,
        payments_sandbox=sandbox,
        telegram=TelegramSettings(
            bot_token=SecretStr(TOKEN),
            bot_username=username,
            payment_provider_token=SecretStr(provider_token) if provider_token else None,
            webhook_secret=SecretStr(webhook_secret) if webhook_secret else None,
            api_url=api_url,
        ),
    )
    session = RecordingSession()
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    async with running_shop(settings, clock=clock) as shop:
        await stock_demo(shop, wanted=True)
        if rows:
            await shop.catalog.import_rows(rows)
        await shop.search.start()
        async with open_channels(shop, session=session, sleep=wait) as channels:
            assert channels.telegram is not None
            yield Harness(
                shop, channels.conversations, channels.telegram, session, waits, staff_ids
            )
