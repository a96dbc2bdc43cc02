"""The WhatsApp channel through Twilio: the webhook, the conversation's replies, what the shop says unasked.

A customer's message reaches `POST /whatsapp/webhook`. Only a request Twilio signed
is taken; it is kept in the shop's inbox (unique by its MessageSid, in the database
every worker shares) and answered at once, then handled in the background, one
customer's messages in the order they came. Its replies are kept with it once it is
handled, and go through Twilio's REST API in their turn of the sender's budget. A
process that dies before the replies have gone leaves the message to the next
(`recover`): handled if it was not, its kept replies sent if it was, all but
those Twilio lists as already created to the customer since it was handled (the
dead process sent them). A repeated delivery finds its sid taken and is not
handled again.

What the shop says unasked comes from the delivery worker (`send`): as free text
within WhatsApp's 24-hour window since the customer last wrote, else as the
approved template the owner set for that kind of message (TWILIO_TEMPLATES), else
not at all, recorded as failed with Twilio's reason (63016). Twilio's news of each
such message (delivered, read, failed) comes back to the same webhook.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import SecretStr
from twilio.request_validator import SIGNATURE_HEADER

from bot.delivery import RefusedError, RetryLaterError, UnreachableError
from bot.flows.context import Capabilities
from bot.flows.engine import Conversations, Who
from bot.flows.locks import KeyedLocks
from bot.flows.types import Reply, Text
from bot.handlers.whatsapp.api import TwilioApi
from bot.handlers.whatsapp.render import Outgoing, Renderer, pushed, template
from bot.handlers.whatsapp.wire import Incoming, StatusReport, address_of, read, signed
from bot.limits import limited
from bot.pace import Pace
from bot.services import Shop
from bot.settings import Settings
from shop.db import background
from shop.i18n import Language
from shop.inbox import Inbound
from shop.models import Channel
from shop.outbox import Outbound
from shop.types import utcnow

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/whatsapp/webhook"
FORM_LIMIT = 64 * 1024  # a message's form is a few KB, its text at most 1,600 characters
# Twilio gives up on a webhook after 15 s; this one answers once the message is kept.
HANDLING = timedelta(seconds=60)  # a message not handled by then is taken up by another process
HANDLERS = 8
RECOVER_EVERY = 10.0  # seconds between looks for messages a dead process left
RECOVERED_AT_ONCE = 100
ATTEMPTS = 5  # a message whose handling failed this often is set aside (and logged)
KEEP_HANDLED = timedelta(days=2)  # Twilio repeats a delivery within minutes, never days later
WINDOW = timedelta(hours=24)  # WhatsApp's customer service window since the customer last wrote
DRAIN_SECONDS = 10.0
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
CLOCK_SKEW = timedelta(seconds=2)  # Twilio's clock against ours, when comparing times
OUTSIDE_WINDOW = 63016  # Twilio's error for free text outside the 24-hour window

# Numbered options, no edits, no inline search, no invoices (payment links); WhatsApp
# gives the number the customer writes from, unless it gives a business-scoped id only.
WHATSAPP = Capabilities(knows_phone=True, numbered_options=True)
WHATSAPP_WITHOUT_PHONE = Capabilities(numbered_options=True)


@dataclass(eq=False)
class WhatsAppChannel:
    """A running WhatsApp sender: takes Twilio's webhooks, answers, and sends what the shop says."""

    shop: Shop
    conversations: Conversations
    api: TwilioApi
    renderer: Renderer
    webhook_url: str  # the address Twilio calls, as it signs it: PUBLIC_BASE_URL + the path
    auth_token: SecretStr
    webhook_key: SecretStr | None = None
    templates: Mapping[str, str] = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow
    _locks: KeyedLocks = field(default_factory=KeyedLocks)
    _in_hand: set[asyncio.Task[None]] = field(default_factory=set)
    # The latest claim of each message this process is about to handle, by its id.
    _taken: dict[int, Inbound] = field(default_factory=dict)
    # Messages handled at once: a burst of them would take every database connection,
    # and the webhook, which keeps each message, would wait behind them (benchmarks/whatsapp.py).
    _handling: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(HANDLERS))
    _recovery: asyncio.Task[None] | None = None

    @property
    def reports(self) -> bool:
        """Twilio reports on each message the shop sent, by its sid."""
        return True

    def webhook_route(self) -> web.RouteDef:
        """Return the route Twilio posts customers' messages and status reports to."""
        return web.post(WEBHOOK_PATH, self._webhook)

    async def start(self) -> None:
        """Start taking up messages that a process which died left unhandled."""
        self._recovery = asyncio.create_task(self._recover_forever())

    async def _webhook(self, request: web.Request) -> web.Response:
        """Take one signed request: keep a message and answer at once, or take a status report."""
        if SIGNATURE_HEADER not in request.headers:  # refused before its body is read
            raise web.HTTPForbidden(text="not signed by Twilio")
        try:
            posted = await limited(request, FORM_LIMIT).post()
        except (ValueError, HttpProcessingError):
            raise web.HTTPBadRequest(text="not a form") from None
        form = {key: value for key, value in posted.items() if isinstance(value, str)}
        if not signed(
            self.webhook_url,
            form,
            request.headers,
            auth_token=self.auth_token.get_secret_value(),
            webhook_key=self.webhook_key.get_secret_value() if self.webhook_key else None,
        ):
            log.warning("refused a WhatsApp webhook without a valid Twilio signature")
            raise web.HTTPForbidden(text="not signed by Twilio")
        what = read(form)
        if isinstance(what, StatusReport):
            await self.shop.outbox.reported(Channel.WHATSAPP, what.sid, what.status, what.error)
        elif isinstance(what, Incoming):
            kept = await self.shop.inbox.receive(
                Channel.WHATSAPP, what.sid, what.sender, what.to_json(), lease=HANDLING
            )
            if kept is not None:  # else a repeated delivery, handled already
                self._start(kept)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    def _start(self, kept: Inbound) -> None:
        """Handle a kept message in the background, after the customer's earlier ones.

        One this process is already about to handle (it waits behind the customer's
        earlier messages) only has its claim brought up to date.
        """
        waiting = kept.id in self._taken
        self._taken[kept.id] = kept
        if waiting:
            return
        task = asyncio.create_task(self._handle(kept.id, kept.sender))
        self._in_hand.add(task)
        task.add_done_callback(self._in_hand.discard)

    async def _handle(self, inbound_id: int, sender: str) -> None:
        """Answer a message (unless another process took it meanwhile), keep the replies, send them."""
        # Twilio has its answer: the webhooks that come meanwhile go first (shop.turns).
        with background():
            await self._handle_kept(inbound_id, sender)

    async def _handle_kept(self, inbound_id: int, sender: str) -> None:
        """Handle a kept message as `_handle` says."""
        async with self._locks.hold(sender):
            kept = self._taken.pop(inbound_id)
            incoming = Incoming.from_json(kept.payload)
            answer = kept.answer
            try:
                async with self._handling:
                    # Its lease ran while it waited: held anew, unless another process took it.
                    if not await self.shop.inbox.renew(kept, lease=HANDLING):
                        return
                    if answer is None:  # else handled by a process that died sending the replies
                        replies = self.renderer.render(await self._answer(incoming))
                        answer = [message.to_json() for message in replies]
                        await self.shop.inbox.answered(kept.id, answer)
            except Exception:  # the database is down: the message stays, to be handled later
                log.exception("WhatsApp message %s not handled; it will be again", incoming.sid)
                return
            replies = [Outgoing.from_json(item) for item in answer]
            if kept.answer is not None and kept.answered_at is not None:
                replies = await self._unsent(incoming.address, replies, kept.answered_at)
            await self._reply(incoming.address, replies)
            await self.shop.inbox.done(kept.id)

    async def _answer(self, incoming: Incoming) -> list[Reply]:
        """Return the flows' answer to a message."""
        who = Who(
            Channel.WHATSAPP,
            incoming.sender,
            display_name=incoming.profile_name,
            language_code=incoming.language_hint,
            can=WHATSAPP if incoming.knows_phone else WHATSAPP_WITHOUT_PHONE,
        )
        event = incoming.event()
        if (
            event is None
        ):  # a photo, a voice note, a sticker: nothing to read, but it opens the window
            await self.shop.customers.touch(
                Channel.WHATSAPP, incoming.sender, display_name=who.display_name, phone=who.phone
            )
            lang = Language(await self.conversations.locale_of(who))
            body = lang._(
                "I can only read text. Type what you are looking for, or a number from the list."
            )
            return [Text(body)]
        return await self.conversations.handle(who, event)

    async def _unsent(
        self, address: str, replies: list[Outgoing], answered_at: datetime
    ) -> list[Outgoing]:
        """Return the replies a dead process did not send: those Twilio does not show as created.

        The replies went in order, after the message was handled, so the ones sent are
        the newest messages to the customer, equal to the replies' first ones. When
        Twilio cannot tell, every reply is sent again: twice rather than never.
        """
        try:
            bodies = await self.api.sent_since(address, answered_at - CLOCK_SKEW)
        except RetryLaterError as error:
            log.warning("could not ask Twilio what went to %s; sending again: %s", address, error)
            return replies
        wanted = [(reply.body, reply.media_url is not None) for reply in replies]
        sent = next(
            (n for n in range(min(len(bodies), len(wanted)), 0, -1) if bodies[-n:] == wanted[:n]),
            0,
        )
        return replies[sent:]

    async def _reply(self, address: str, messages: list[Outgoing]) -> None:
        """Send a conversation's replies in order; a refusal is logged and ends them."""
        for message in messages:
            try:
                await self.api.create(address, message)
            except (UnreachableError, RefusedError, RetryLaterError) as error:
                log.error("a WhatsApp reply to %s was not sent: %s", address, error)
                return

    async def recover(self) -> int:
        """Handle the messages whose process died before handling them; return how many were taken."""
        lapsed = await self.shop.inbox.lapsed(
            Channel.WHATSAPP, limit=RECOVERED_AT_ONCE, lease=HANDLING
        )
        for kept in lapsed:
            if kept.attempts > ATTEMPTS:
                log.error("WhatsApp message %s failed %d times; set aside", kept.id, ATTEMPTS)
                await self.shop.inbox.done(kept.id)
            else:
                self._start(kept)
        return len(lapsed)

    async def _recover_forever(self) -> None:
        """Recover now and every RECOVER_EVERY seconds; forget long-handled messages."""
        while True:
            try:
                await self.recover()
                await self.shop.inbox.forget(KEEP_HANDLED)
            except Exception:
                log.exception("recovering WhatsApp messages failed; trying again")
            await asyncio.sleep(RECOVER_EVERY)

    async def send(self, message: Outbound, replies: list[Reply]) -> list[str]:
        """Send what the shop says unasked: free within the 24-hour window, else its template.

        Raises:
            RefusedError: outside the window with no template for this kind (63016).
            UnreachableError, RetryLaterError: as Twilio answers (see `TwilioApi.create`).
        """
        if await self._in_window(message):
            outgoing = pushed(replies)
        else:
            sid = self.templates.get(message.kind)
            if sid is None:
                raise RefusedError(
                    f"{OUTSIDE_WINDOW}: the customer last wrote over 24 hours ago, and "
                    f"TWILIO_TEMPLATES names no approved template for {message.kind} messages"
                )
            outgoing = [template(sid, replies)]
        to = address_of(message.address)
        return [await self.api.create(to, item, report=True) for item in outgoing]

    async def _in_window(self, message: Outbound) -> bool:
        """Tell whether the customer wrote within the last 24 hours."""
        if message.customer_id is None:
            return False
        customer = await self.shop.customers.get(message.customer_id)
        last = customer.last_inbound_at
        return last is not None and self.clock() - last < WINDOW

    async def drained(self) -> None:
        """Wait until every message taken so far is answered (those taken meanwhile too)."""
        while self._in_hand:
            await asyncio.wait(set(self._in_hand))

    async def close(self) -> None:
        """Stop recovering, let the messages in hand finish (for a while), close the HTTP session."""
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                await self.drained()
        except TimeoutError:  # kept in the inbox: the next process handles them
            log.warning("shutting down with WhatsApp messages still being answered")
            for task in set(self._in_hand):
                task.cancel()
            await asyncio.gather(*self._in_hand, return_exceptions=True)
        await self.api.close()


def build_whatsapp(
    shop: Shop, conversations: Conversations, *, clock: Callable[[], datetime] = utcnow
) -> WhatsAppChannel:
    """Compose the WhatsApp channel from the settings: the one place its services are built."""
    settings: Settings = shop.settings
    config = settings.twilio
    if config.auth_token is None:
        raise ValueError("TWILIO_AUTH_TOKEN is not set")
    sender = "".join(ch for ch in str(config.whatsapp_from) if ch.isdigit())
    pace = Pace(
        f"whatsapp:{sender}",
        overall=config.send_rate,
        # WhatsApp limits a sender, not a chat: no count per customer (benchmarks/whatsapp.py).
        per_chat=None,
        per_group=None,
        redis_url=settings.redis_url,
    )
    url = settings.public_base_url.rstrip("/") + WEBHOOK_PATH
    return WhatsAppChannel(
        shop,
        conversations,
        TwilioApi(config, pace, status_callback=url),
        Renderer(quick_replies=config.quick_replies, list_pickers=config.list_pickers),
        url,
        config.auth_token,
        webhook_key=config.webhook_key,
        templates=config.templates,
        clock=clock,
    )
