"""The delivery worker: sends what the shop queued to say unasked, exactly once each.

It claims due messages from the outbox (shop/outbox.py) for the channels this
process can send on, composes each in its recipient's language (bot/flows/notices.py)
and hands it to that channel's deliverer, which keeps within the platform's limits.
Sent messages are recorded as sent; one the platform asks to delay goes back to the
queue for then; one it refuses for good (the customer blocked the bot) is recorded as
failed with the reason, its customer as unreachable; other failures are tried again
with backoff. A message for every staff member becomes one per staff member first.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from bot.flows.engine import Conversations
from bot.flows.notices import STAFF_LANGUAGE, NothingToSayError, compose
from bot.flows.types import Reply
from bot.pace import URGENCY
from shop.errors import NotFoundError
from shop.outbox import STAFF, Kind, Outbound

if TYPE_CHECKING:
    from bot.services import Shop

log = logging.getLogger(__name__)

BATCH = 64  # messages claimed at a time
# A claimed message goes to another worker if not done by then: longer than a batch takes
# at one message a second to one chat.
LEASE = timedelta(seconds=120)
IDLE = 0.5  # seconds between looks at an empty queue
# Messages composed at once (each reads the database): a batch's chats all start together,
# and each at once would take as many connections, beyond what PostgreSQL allows several workers.
COMPOSING = 8
ATTEMPTS = 12  # tries of one message before it is recorded as failed
RETRY_LONGEST = timedelta(minutes=30)


class UnreachableError(Exception):
    """The platform will never deliver to this address (the customer blocked the bot, left)."""


class RefusedError(Exception):
    """The platform refuses the message itself, for good (not the address): it is not sent."""


class RetryLaterError(Exception):
    """The platform asks to wait (flood control) or could not be reached: send again later."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after  # seconds the platform asked for, if it said


class Deliverer(Protocol):
    """Sends what the shop says unasked on its channel, within the platform's limits."""

    # Whether the platform reports on each message later, by the ids `send` returns
    # (WhatsApp's status callbacks); those ids are then kept with the message.
    @property
    def reports(self) -> bool:
        """Tell whether the platform reports on sent messages by their ids."""
        ...

    async def send(self, message: Outbound, replies: list[Reply]) -> list[str]:
        """Send `replies`, composed from `message`, to its address; return the platform's ids of them.

        Raise UnreachableError or RefusedError for good, RetryLaterError to try again.
        """
        ...


class DeliveryWorker:
    """Drains the outbox for the channels it has deliverers for."""

    def __init__(
        self,
        shop: Shop,
        conversations: Conversations,
        deliverers: Mapping[str, Deliverer],
        *,
        staff: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._shop = shop
        self._conversations = conversations
        self._deliverers = dict(deliverers)
        self._staff = tuple(staff)  # (channel, address) of every staff member
        self._composing = asyncio.Semaphore(COMPOSING)

    async def run(self) -> None:
        """Send messages as they come due, until cancelled."""
        while True:
            try:
                sent = await self.drain()
            except Exception:  # the database may be down for a moment: look again soon
                log.exception("delivering messages failed; trying again")
                sent = 0
            if not sent:
                await asyncio.sleep(IDLE)

    async def drain(self) -> int:
        """Claim one batch of due messages and deliver them; return how many were claimed."""
        channels = [*self._deliverers, STAFF]
        messages = await self._shop.outbox.claim(channels, limit=BATCH, lease=LEASE)
        by_address: dict[tuple[str, str], list[Outbound]] = defaultdict(list)
        for message in messages:  # claimed oldest first
            by_address[(message.channel, message.address)].append(message)
        # Chats in parallel (the deliverer paces them); one chat's messages in their order.
        await asyncio.gather(*(self._deliver_in_order(queue) for queue in by_address.values()))
        return len(messages)

    async def _deliver_in_order(self, messages: list[Outbound]) -> None:
        """Deliver one address's messages one after another, oldest first."""
        for message in messages:
            await self._deliver(message)

    async def _deliver(self, message: Outbound) -> None:
        """Deliver one claimed message and record what became of it."""
        outbox = self._shop.outbox
        if message.channel == STAFF:
            await outbox.fan_out(message, self._staff)
            return
        try:
            async with self._composing:
                replies = await self._compose(message)
        except (NothingToSayError, NotFoundError) as error:
            log.error("message %s cannot be composed: %s", message.id, error)
            await outbox.failed(message, f"cannot be composed: {error}")
            return
        try:
            shown = await self._send(message, replies)
        except UnreachableError as error:
            log.info("message %s: %s unreachable: %s", message.id, message.address, error)
            await outbox.failed(message, str(error), unreachable=True)
        except RefusedError as error:
            log.error("message %s refused by the platform: %s", message.id, error)
            await outbox.failed(message, str(error))
        except RetryLaterError as error:
            await self._again(message, str(error), error.after)
        except Exception as error:  # a bug or an outage of ours: logged, tried again later
            log.exception("message %s could not be sent", message.id)
            await self._again(message, repr(error), None)
        else:
            await self._remember_ticket(message, shown)
            reported = self._deliverers[message.channel].reports
            await outbox.sent(message, shown if reported else ())
            if message.broadcast_id is not None and message.customer_id is not None:
                # Read afresh at their next message, which the broadcast may be credited with.
                self._shop.customers.forget(message.customer_id)

    async def _send(self, message: Outbound, replies: list[Reply]) -> list[str]:
        """Send in the message's place in the bot's budget: after replies, broadcasts last."""
        urgency = URGENCY.set(message.urgency)
        try:
            return await self._deliverers[message.channel].send(message, replies)
        finally:
            URGENCY.reset(urgency)

    async def _remember_ticket(self, message: Outbound, shown: list[str]) -> None:
        """Remember where a staff member was shown a ticket, so that a reply to it answers it.

        Before the message is recorded sent: a crash between the two shows the ticket
        again later, never leaves a copy that nothing answers.
        """
        ticket = message.payload.get("ticket_id")
        if message.kind == Kind.STAFF_ALERT and ticket is not None:
            where = [(int(message.address), int(ref)) for ref in shown]
            await self._shop.tickets.shown(int(ticket), where)

    async def _compose(self, message: Outbound) -> list[Reply]:
        """Compose a message in its recipient's language."""
        if message.customer_id is None:
            return await compose(self._shop, message, STAFF_LANGUAGE)
        customer = await self._shop.customers.get(message.customer_id)
        lang = await self._conversations.language_for(customer)
        return await compose(self._shop, message, lang, customer)

    async def _again(self, message: Outbound, why: str, after: float | None) -> None:
        """Put a message back for later (as asked, else with backoff), or give up after many tries."""
        if message.attempts >= ATTEMPTS:
            await self._shop.outbox.failed(
                message, f"gave up after {message.attempts} tries: {why}"
            )
            return
        backoff = min(RETRY_LONGEST, timedelta(seconds=2**message.attempts))
        wait = timedelta(seconds=after) if after is not None else backoff
        await self._shop.outbox.retry(message.id, wait, why)
