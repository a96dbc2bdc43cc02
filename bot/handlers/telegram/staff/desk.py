"""The staff desk on Telegram: customers' questions become tickets in every staff chat; alerts too."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.flows.engine import StaffQuestion
from bot.handlers.telegram.staff import words
from shop.tickets import TicketService

log = logging.getLogger(__name__)


class TelegramStaffDesk:
    """Hands customers' questions to the staff's Telegram chats as tickets (the flows' StaffDesk).

    Its `staff_ids` are also who the staff router lets in.
    """

    def __init__(self, staff_ids: Iterable[int], tickets: TicketService, bot: Bot) -> None:
        self.staff_ids = frozenset(staff_ids)
        self._tickets = tickets
        self._bot = bot

    async def forward(self, question: StaffQuestion) -> None:
        """Store the question as a ticket and show it in every staff chat, to be answered by a reply."""
        ticket = await self._tickets.open(
            question.customer_id,
            channel=question.channel.value,
            name=question.name,
            locale=question.locale,
            text=question.text,
        )
        await self._tickets.shown(ticket.id, await self._send(words.ticket(ticket)))

    async def _send(self, body: str) -> list[tuple[int, int]]:
        """Send `body` to every staff chat; return (chat, message) of each sent, logging the rest."""
        if not self.staff_ids:
            log.error("no staff chat to tell: %s", body[:200])
            return []
        sent = []
        for staff_id in sorted(self.staff_ids):
            try:
                message = await self._bot.send_message(staff_id, body)
            except TelegramAPIError as error:
                log.error("cannot reach staff member %s: %s", staff_id, error.message)
                continue
            sent.append((staff_id, message.message_id))
        return sent
