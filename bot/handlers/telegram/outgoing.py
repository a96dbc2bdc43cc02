"""Replies leave in the background as the budget allows: one chat's in order, stale edits skipped.

A handler queues its replies and returns, so a customer's next press is handled
while the last reply still waits for its turn (Telegram allows one message a second
to a chat, 30 in all), and the update is never failed for lack of capacity. When a
newer reply edits a message that a queued one was going to edit, the queued edit is
skipped: only the latest state of that message goes out.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError

from bot.flows.types import Image, Reply, Text
from bot.handlers.telegram.render import Origin, Renderer

log = logging.getLogger(__name__)


@dataclass(eq=False, slots=True)
class Answer:
    """The replies to one update, as the handler queued them."""

    user_id: int
    replies: list[Reply]
    origin: Origin | None
    remove_keyboard: bool
    stale: bool = False  # a newer answer edits the same message: skip this one's edit

    @property
    def edits(self) -> int | None:
        """Return the id of the message this answer replaces in place, if it does."""
        if self.origin is None:
            return None
        editing = any(isinstance(reply, Text | Image) and reply.edit for reply in self.replies)
        return self.origin.message_id if editing else None


class Outgoing:
    """Sends the replies handlers queue, per chat in order, without holding up the updates."""

    def __init__(self, renderer: Renderer) -> None:
        """Send through `renderer`."""
        self._renderer = renderer
        self._queues: dict[int, deque[Answer]] = {}
        self._senders: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def put(
        self,
        chat_id: int,
        user_id: int,
        replies: list[Reply],
        *,
        origin: Origin | None = None,
        remove_keyboard: bool = False,
    ) -> None:
        """Queue replies to `chat_id` (the first edit replacing `origin`), after its earlier ones."""
        answer = Answer(user_id, replies, origin, remove_keyboard)
        queue = self._queues.get(chat_id)
        if queue is None:
            queue = self._queues[chat_id] = deque()
            sender = asyncio.create_task(self._send_all(chat_id, queue))
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
            self._idle.clear()
        elif answer.edits is not None:
            for waiting in queue:
                if waiting.edits == answer.edits:
                    waiting.stale = True
        queue.append(answer)

    async def drained(self) -> None:
        """Wait until every queued reply has gone (or failed)."""
        await self._idle.wait()

    async def close(self) -> None:
        """Stop sending: what is still queued is dropped (wait for `drained` first)."""
        for sender in list(self._senders):
            sender.cancel()
        await asyncio.gather(*self._senders, return_exceptions=True)

    async def _send_all(self, chat_id: int, queue: deque[Answer]) -> None:
        """Send a chat's answers one after another until its queue is empty."""
        try:
            while queue:
                await self._send(chat_id, queue.popleft())
        finally:
            del self._queues[chat_id]
            if not self._queues:
                self._idle.set()

    async def _send(self, chat_id: int, answer: Answer) -> None:
        """Send one answer; a failure is logged, and the chat's next answers still go."""
        try:
            await self._renderer.send(
                chat_id,
                answer.user_id,
                answer.replies,
                origin=answer.origin,
                remove_keyboard=answer.remove_keyboard,
                stale=answer.stale,
            )
        except TelegramForbiddenError as error:  # the customer blocked the bot meanwhile
            log.info("no reply to %s: %s", chat_id, error.message)
        except TelegramAPIError as error:
            log.error("a reply to %s was not sent: %s", chat_id, error.message)
        except Exception:
            log.exception("a reply to %s failed", chat_id)
