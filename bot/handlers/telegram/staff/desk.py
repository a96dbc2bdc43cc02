"""The staff desk on Telegram: customers' questions become tickets, queued for every staff chat."""

from __future__ import annotations

from collections.abc import Iterable

from bot.flows.engine import StaffQuestion
from shop.tickets import TicketService


class TelegramStaffDesk:
    """Opens a ticket for each customer's question (the flows' StaffDesk); the worker shows it to staff.

    Its `staff_ids` are also who the staff router lets in.
    """

    def __init__(self, staff_ids: Iterable[int], tickets: TicketService) -> None:
        self.staff_ids = frozenset(staff_ids)
        self._tickets = tickets

    async def forward(self, question: StaffQuestion) -> None:
        """Store the question as a ticket, queued for every staff chat, to be answered by a reply."""
        await self._tickets.open(
            question.customer_id,
            channel=question.channel.value,
            name=question.name,
            locale=question.locale,
            text=question.text,
        )
