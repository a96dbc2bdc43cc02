"""Telegram's Bot API on loopback, for the methods chatshop calls, speaking the real wire format.

Requests arrive as aiogram sends them: `POST /bot<token>/<method>` with a
form-encoded (or multipart) body whose object values are JSON. Answers are
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ..., "description": ...}``.
`getUpdates` is long-polled: it answers at once when updates at or past `offset`
wait, else holds the request up to `timeout` seconds for one to arrive, and an
`offset` confirms (drops) every update before it — so a bot killed mid-update
gets it again after a restart, as from Telegram.

A test plays the customer with `push(...)` and reads what the bot did with
`wait_for(...)`, which waits for an observable condition within a deadline.
`hold(method)` keeps the bot's next call of a method unanswered, as a slow
network would, until the test lets it through; `stall(method)` keeps every call
of it from then on unanswered (nothing gets through), until `unstall(method)`.
Chats in `blocked` have blocked the bot: sends to them are refused with 403. `flood_control(overall, per_chat)`
makes it refuse sends and edits as Telegram does beyond its limits: 429 with
`retry_after` for one past `overall` in any one second, or past `per_chat` to one
chat; every call carries the time it arrived (`at`), so a test can count any
second's sends.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.payment_support import free_socket
from tests.telegram_support import form_value

BOT_ID = 7_000_001
BOT_USERNAME = "chatshop_e2e_bot"
TOKEN = f"{BOT_ID}:E2E-test-token_chatshop"
_SENDS = {"sendMessage", "sendPhoto", "sendInvoice", "sendMediaGroup"}
_EDITS = {"editMessageText", "editMessageCaption", "editMessageMedia"}
_TRUE = {
    "deleteWebhook",
    "setWebhook",
    "setMyCommands",
    "answerCallbackQuery",
    "answerPreCheckoutQuery",
    "answerShippingQuery",
    "answerInlineQuery",
    "close",
    "logOut",
}


@dataclass(frozen=True)
class Call:
    """One Bot API request as received: its method, its fields (JSON values decoded), the result.

    `at` is when it arrived (time.monotonic() in the test's process), to tell how long
    the bot waited between two calls.
    """

    index: int
    method: str
    fields: dict[str, Any]
    result: Any
    at: float

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    @property
    def words(self) -> str:
        return str(self.fields.get("text") or self.fields.get("caption") or "")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.fields.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    def button(self, action: str, arg: str | None = None) -> dict[str, Any]:
        """Return the first button whose callback data names `action` (and `arg`)."""
        for button in self.buttons:
            parts = str(button.get("callback_data", "")).split("|")
            if parts[1:2] == [action] and (arg is None or parts[2:3] == [arg]):
                return button
        raise AssertionError(f"no {action!r} button among {self.buttons}")


@dataclass
class FakeBotAPI:
    """The Bot API server: records calls, queues updates, answers like Telegram."""

    token: str = TOKEN
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    refunded: set[str] = field(default_factory=set)  # Stars charges given back
    # Errors to answer the next calls of a method with, in order (see `refuse`).
    _refusals: dict[str, list[web.Response]] = field(default_factory=dict)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _held: dict[str, asyncio.Event] = field(default_factory=dict)  # method: its release
    _holds: list[asyncio.Event] = field(default_factory=list)  # every release, for close()
    _closing: bool = False
    # Telegram's flood control, when on: sends taken in the last second, in all and per chat.
    _limits: tuple[int, int] | None = None
    _taken: deque[float] = field(default_factory=deque)
    _taken_by_chat: defaultdict[int, deque[float]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    flooded: int = 0  # sends refused with 429 by flood control
    blocked: set[int] = field(default_factory=set)  # chats whose user blocked the bot
    forbidden: int = 0  # sends refused with 403 because the chat blocked the bot
    _stalled: dict[str, asyncio.Event] = field(default_factory=dict)  # method: its release
    # Called with every call as it is logged: a crowd of customers each waits for its own
    # chat's answers without all of them looking through every call.
    listeners: list[Callable[[Call], None]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._call)
        return app

    # The customer's side ---------------------------------------------------------------

    def update(self, **event: Any) -> dict[str, Any]:
        """Return an update carrying `event` (message=..., callback_query=...), numbered in turn."""
        return {"update_id": next(self._update_ids), **event}

    async def push(self, **event: Any) -> int:
        """Queue an update (message=..., callback_query=..., ...) for the bot; return its id."""
        update = self.update(**event)
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return int(update["update_id"])

    def refuse(
        self, method: str, status: int, description: str, *, retry_after: int | None = None
    ) -> None:
        """Answer the next call of `method` with an error, as Telegram does (429, 403, ...).

        A refused call is logged too, with the result None, as a call the bot made.
        """
        self._refusals.setdefault(method, []).append(
            _error(status, description, retry_after=retry_after)
        )

    def flood_control(self, overall: int = 30, per_chat: int = 1) -> None:
        """Refuse sends past `overall` in any second, or past `per_chat` to one chat, with 429."""
        self._limits = (overall, per_chat)

    def hold(self, method: str) -> asyncio.Event:
        """Leave the bot's next `method` call logged but unanswered until the event returned is set."""
        released = self._held[method] = asyncio.Event()
        self._holds.append(released)
        return released

    def stall(self, method: str) -> None:
        """Leave every call of `method` from now on logged but unanswered, until `unstall(method)`."""
        released = self._stalled[method] = asyncio.Event()
        self._holds.append(released)

    def unstall(self, method: str) -> None:
        """Answer `method` again; the calls held meanwhile get an answer too."""
        self._stalled.pop(method).set()

    def mark(self) -> int:
        """Return a position in the call log: `wait_for(since=...)` looks only after it."""
        return len(self.calls)

    async def wait_for(
        self,
        matches: Callable[[Call], bool],
        *,
        since: int = 0,
        timeout: float = 30.0,  # noqa: ASYNC109 - a deadline for the condition, not for I/O
    ) -> Call:
        """Return the first call after `since` that `matches`, waiting for it up to `timeout` s."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                while True:
                    for call in self.calls[since:]:
                        if matches(call):
                            return call
                    await self._changed.wait()
        except TimeoutError:
            seen = [
                (c.method, c.words[:80]) for c in self.calls[since:] if c.method != "getUpdates"
            ]
            raise AssertionError(f"no such call within {timeout} s; the bot made {seen}") from None

    def of(self, method: str, *, since: int = 0) -> list[Call]:
        return [c for c in self.calls[since:] if c.method == method]

    # The server's side -----------------------------------------------------------------

    async def _call(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        arrived = time.monotonic()
        if request.content_type == "application/json":  # the Bot API takes JSON bodies too
            fields = dict(await request.json())
        else:
            form = await request.post()
            fields = {key: form_value(str(value)) for key, value in form.items()}
        if method == "getUpdates":  # logged as it arrives: the bot is now waiting for news
            await self._log(method, fields, None, arrived)
            return web.json_response({"ok": True, "result": await self._get_updates(fields)})
        refusals = self._refusals.get(method)
        if refusals:
            await self._log(method, fields, None, arrived)
            return refusals.pop(0)
        held = self._held.pop(method, None)
        if held is not None:  # logged as it arrives: the bot now waits for the answer
            await self._log(method, fields, None, arrived)
            await held.wait()
            return web.json_response({"ok": True, "result": True})
        stalled = self._stalled.get(method)
        if stalled is not None:
            await self._log(method, fields, None, arrived)
            await stalled.wait()
            return _error(502, "Bad Gateway")
        if method in _SENDS and int(fields["chat_id"]) in self.blocked:
            self.forbidden += 1
            await self._log(method, fields, None, arrived)
            return _error(403, "Forbidden: bot was blocked by the user")
        result: Any
        if method == "getMe":
            result = {"id": BOT_ID, "is_bot": True, "first_name": "Shop", "username": BOT_USERNAME}
        elif method in _SENDS | _EDITS and (wait := self._flood_wait(fields, arrived)):
            self.flooded += 1
            await self._log(method, fields, None, arrived)
            return _error(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        elif method == "sendMediaGroup":  # a message a photo, the album's caption on the first
            chat_id = int(fields["chat_id"])
            result = [
                self._store(
                    "sendPhoto", {"caption": media.get("caption")}, chat_id, next(self._message_ids)
                )
                for media in fields["media"]
            ]
        elif method in _SENDS:
            result = self._store(method, fields, int(fields["chat_id"]), next(self._message_ids))
        elif method in _EDITS:
            key = (int(fields["chat_id"]), int(fields["message_id"]))
            if key not in self.messages:
                return _error(400, "Bad Request: message to edit not found")
            result = self._store(method, fields, *key)
        elif method == "refundStarPayment":
            charge = fields["telegram_payment_charge_id"]
            if charge in self.refunded:
                return _error(400, "Bad Request: CHARGE_ALREADY_REFUNDED")
            self.refunded.add(charge)
            result = True
        elif method in _TRUE:
            result = True
        else:
            return _error(404, "Not Found: method not found")
        await self._log(method, fields, result, arrived)
        return web.json_response({"ok": True, "result": result})

    def _flood_wait(self, fields: dict[str, Any], now: float) -> int | None:
        """Count a send or edit arrived `now` against the limits; return the seconds to wait if past them."""
        if self._limits is None:
            return None
        overall, per_chat = self._limits
        chat = self._taken_by_chat[int(fields["chat_id"])]
        for taken in (self._taken, chat):
            while taken and taken[0] <= now - 1.0:
                taken.popleft()
        if len(self._taken) >= overall or len(chat) >= per_chat:
            return 1  # Telegram says whole seconds
        self._taken.append(now)
        chat.append(now)
        return None

    async def _log(self, method: str, fields: dict[str, Any], result: Any, at: float) -> None:
        async with self._changed:
            call = Call(len(self.calls), method, fields, result, at)
            self.calls.append(call)
            self._changed.notify_all()
        for listener in self.listeners:
            listener(call)

    async def _get_updates(self, fields: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(fields.get("offset", 0))
        deadline = time.monotonic() + float(fields.get("timeout", 0))
        async with self._changed:
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    async with asyncio.timeout(left):
                        await self._changed.wait()
                except TimeoutError:
                    break
            return list(self._updates[:100])

    def _store(
        self, method: str, fields: dict[str, Any], chat_id: int, message_id: int
    ) -> dict[str, Any]:
        """Keep the message as the chat now shows it, and return it as Telegram would."""
        message = dict(self.messages.get((chat_id, message_id), {}))
        message.update(
            message_id=message_id,
            date=int(time.time()),
            chat={"id": chat_id, "type": "private", "first_name": "Ann"},
            **{
                "from": {
                    "id": BOT_ID,
                    "is_bot": True,
                    "first_name": "Shop",
                    "username": BOT_USERNAME,
                }
            },
        )
        if method in ("sendMessage", "editMessageText"):
            message["text"] = fields["text"]
        if method in ("sendPhoto", "editMessageCaption", "editMessageMedia"):
            message["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 9, "height": 9}]
            message["caption"] = fields.get("caption") or fields.get("media", {}).get("caption", "")
        if method == "sendInvoice":
            message["invoice"] = {
                "title": fields["title"],
                "description": fields["description"],
                "start_parameter": "",
                "currency": fields["currency"],
                "total_amount": sum(p["amount"] for p in fields["prices"]),
            }
        markup = fields.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        self.messages[(chat_id, message_id)] = message
        return message

    async def close(self) -> None:
        for released in self._holds:
            released.set()
        async with self._changed:
            self._closing = True
            self._changed.notify_all()


def _error(status: int, description: str, *, retry_after: int | None = None) -> web.Response:
    answer: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        answer["parameters"] = {"retry_after": retry_after}
    return web.json_response(answer, status=status)


@asynccontextmanager
async def fake_bot_api(token: str = TOKEN) -> AsyncIterator[FakeBotAPI]:
    """Run the fake Bot API on a free loopback port, for the bot of `token`."""
    api = FakeBotAPI(token=token)
    sock = free_socket()
    api.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    runner = web.AppRunner(api.app(), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield api
    finally:
        await api.close()
        await runner.cleanup()
