"""A crowd of customers shopping at once through the fake Bot API, each timing the bot's first replies.

Each customer does what a shopper does: /start, a search with a typo, opens a
product from the results, adds it to the cart and opens the cart, reading each
reply for a second before the next action. The e2e test of a crowd and
benchmarks/crowd.py both use it.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bot.flows import actions as a
from tests.fake_telegram import Call, FakeBotAPI
from tests.telegram_e2e_support import chat_message, user

THINK = 1.0  # seconds a customer takes between a reply and their next action
NO_REPLY = 120.0  # seconds after which an action counts as unanswered
SEARCH = "iphnoe 16"  # "iPhone 16", mistyped
MESSAGES = {"sendMessage", "sendPhoto", "sendInvoice"}
EDITS = {"editMessageText", "editMessageCaption", "editMessageMedia"}
STEPS: list[tuple[str, str]] = [
    ("say", "/start"),
    ("say", SEARCH),
    ("press", a.PRODUCT),
    ("press", a.ADD),
    ("press", a.CART),
]


@dataclass
class Chat:
    """One customer's side of the conversation: the bot's messages to them as they come."""

    calls: list[Call] = field(default_factory=list)
    came: asyncio.Event = field(default_factory=asyncio.Event)

    def since(self, at: float) -> Call | None:
        """Return the first message or edit that went through at or after `at`."""
        return next((c for c in self.calls if c.at >= at and c.result is not None), None)

    def with_button(self, action: str) -> tuple[Call, dict[str, Any]] | None:
        """Return the latest message showing an `action` button, and the button."""
        for call in reversed(self.calls):
            if call.result is None:
                continue
            for button in call.buttons:
                if str(button.get("callback_data", "")).split("|")[1:2] == [action]:
                    return call, button
        return None


@dataclass(frozen=True, slots=True)
class Action:
    """One thing a customer did, when, and when the bot's first reply to it came (None: never)."""

    at: float
    replied: float | None


class Crowd:
    """Customers `first`, `first + 1`, ... shopping at once against one running shop."""

    def __init__(self, api: FakeBotAPI, first: int, size: int) -> None:
        self.api = api
        self.ids = range(first, first + size)
        self.chats: dict[int, Chat] = defaultdict(Chat)
        self.actions: list[Action] = []
        api.listeners.append(self._heard)

    @property
    def waits(self) -> list[float]:
        """Seconds each answered action waited for its first reply."""
        return [x.replied - x.at for x in self.actions if x.replied is not None]

    @property
    def unanswered(self) -> int:
        """Actions that got no reply."""
        return sum(1 for x in self.actions if x.replied is None)

    def told(self) -> list[Call]:
        """Every message or edit the crowd got."""
        return [c for chat in self.chats.values() for c in chat.calls if c.result is not None]

    def overtaken(self, sent: list[float], slack: float) -> int:
        """Count the times in `sent` when some action had waited for its reply longer than `slack`."""
        return sum(
            1
            for at in sent
            if any(
                x.at + slack < at and (x.replied is None or at < x.replied) for x in self.actions
            )
        )

    async def shop(self, steps: int = len(STEPS)) -> None:
        """Let every customer take the first `steps` steps at once; return when all are done."""
        await asyncio.gather(*(self._customer(user_id, steps) for user_id in self.ids))

    def _heard(self, call: Call) -> None:
        if call.method in MESSAGES | EDITS and int(call.get("chat_id", 0)) in self.ids:
            chat = self.chats[int(call["chat_id"])]
            chat.calls.append(call)
            chat.came.set()

    async def _customer(self, user_id: int, steps: int) -> None:
        """Shop as one customer: each action waits for its reply, then a second to read it."""
        chat = self.chats[user_id]
        for kind, what in STEPS[:steps]:
            at = time.monotonic()
            if kind == "say":
                await self.api.push(message=chat_message(user_id, text=what))
            else:
                shown = chat.with_button(what)
                if shown is None:  # the bot never showed it: nothing more to do
                    self.actions.append(Action(at, None))
                    return
                call, button = shown
                message = self.api.messages[(user_id, int(call.result["message_id"]))]
                await self.api.push(
                    callback_query={
                        "id": f"cb{user_id}-{len(self.actions)}",
                        "from": user(user_id),
                        "chat_instance": "1",
                        "message": message,
                        "data": button["callback_data"],
                    }
                )
            reply = await self._first_reply(chat, at)
            self.actions.append(Action(at, None if reply is None else reply.at))
            if reply is None:
                return
            await asyncio.sleep(THINK)  # the customer reads it

    async def _first_reply(self, chat: Chat, at: float) -> Call | None:
        """Wait for the bot's first message or edit in this chat after `at` (bounded)."""
        deadline = at + NO_REPLY
        while (reply := chat.since(at)) is None:
            chat.came.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                async with asyncio.timeout(left):
                    await chat.came.wait()
            except TimeoutError:
                return None
        return reply
