"""Staff on Telegram: customers' questions go to the ADMIN_TELEGRAM_IDS chats; a reply answers.

A question arrives in each staff member's chat with the bot as a message naming
the customer; replying to that message sends the reply to the customer, on
whichever channel they asked from. Staff read and write English here; the
customer's answer arrives with the shop's words in the customer's language.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message

from bot.flows.engine import Conversations, StaffQuestion
from shop.errors import NotFoundError

log = logging.getLogger(__name__)

_ASKED = re.compile(r"\AQuestion from customer #(\d{1,18}) ")


class TelegramStaffDesk:
    """Hands customers' questions to the staff's Telegram chats (the flows' StaffDesk)."""

    def __init__(self, staff_ids: Iterable[int]) -> None:
        self.staff_ids = frozenset(staff_ids)
        self._bot: Bot | None = None

    def attach(self, bot: Bot) -> None:
        """Send questions through `bot` (the desk exists before the channel that carries it)."""
        self._bot = bot

    async def forward(self, question: StaffQuestion) -> None:
        """Send the question to every staff member's chat, to be answered by a reply."""
        body = (
            f"Question from customer #{question.customer_id} "
            f"({question.name or 'no name'}, {question.channel.value}, {question.locale}):\n\n"
            f"{question.text}\n\nReply to this message to answer."
        )
        await self._send(body)

    async def _send(self, body: str) -> None:
        """Send `body` to every staff chat; a chat that cannot be reached is logged."""
        if self._bot is None or not self.staff_ids:
            log.error("no staff chat to tell: %s", body[:200])
            return
        for staff_id in sorted(self.staff_ids):
            try:
                await self._bot.send_message(staff_id, body)
            except TelegramAPIError as error:
                log.error("cannot reach staff member %s: %s", staff_id, error.message)


def build_router() -> Router:
    """Return this feature's router: staff replies to customers' questions."""
    router = Router(name=__name__)
    router.message.register(answer, staff_reply)
    return router


async def staff_reply(
    message: Message, bot: Bot, staff: TelegramStaffDesk
) -> dict[str, Any] | bool:
    """Let through a staff member's text reply to a question the bot brought them."""
    replied = message.reply_to_message
    sender = message.from_user
    if message.text is None or replied is None or sender is None:
        return False
    if sender.id not in staff.staff_ids or replied.from_user is None:
        return False
    asked = _ASKED.match(replied.text or "")
    if replied.from_user.id != bot.id or asked is None:
        return False
    return {"customer_id": int(asked[1])}


async def answer(message: Message, customer_id: int, conversations: Conversations) -> None:
    """Send a staff member's reply to the customer who asked, and say whether it went."""
    assert message.text is not None
    try:
        await conversations.answer_from_staff(customer_id, message.text)
    except NotFoundError as error:
        await message.reply(f"Not delivered: {error}")
        return
    await message.reply(f"Sent to customer #{customer_id}.")
