"""What the flow tests share: a customer chatting with the shop, and a small catalog to chat about."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from bot.delivery import DeliveryWorker
from bot.flows.context import Capabilities
from bot.flows.engine import Conversations, StaffDesk, StaffQuestion, Who
from bot.flows.types import (
    Button,
    Command,
    ContactRequest,
    Event,
    Image,
    Message,
    PaymentRequest,
    Press,
    Reply,
    SharedContact,
    Text,
)
from bot.handlers.console import CONSOLE
from bot.handlers.telegram.context import TELEGRAM
from bot.services import Shop
from bot.stores import DatabaseStore
from shop import tables as t
from shop.analytics import EventKind, Visit
from shop.models import Channel
from shop.outbox import Outbound
from shop.views import CustomerView
from tests.conftest import row

CATALOG = [
    row(
        "TEA-1",
        title="Green tea",
        price=1_000,
        stock=5,
        category="Tea",
        titles={"ru": "Зелёный чай"},
        categories={"ru": "Чай"},
        image_url="https://example.com/tea.jpg",
    ),
    row("TEA-2", title="Black tea", price=1_250, stock=30, category="Tea"),
    row("TEA-GONE", title="Sold-out tea", price=900, stock=0, category="Tea"),
    row("CUP", title="Cup", price=129_990, stock=3, category="Things"),
    row("GIFT", title="Gift card", price=2_500, stock=100, category="Gift", digital=True),
]


async def stock_the_shop(shop: Shop) -> None:
    """Put the test catalog on sale."""
    await shop.catalog.import_rows(CATALOG)


def texts_of(replies: Iterable[Reply]) -> str:
    """Return every text and caption of some replies, one after the other."""
    parts = []
    for reply in replies:
        if isinstance(reply, Text | ContactRequest | PaymentRequest):
            parts.append(reply.text)
        elif isinstance(reply, Image):
            parts.append(reply.caption)
    return "\n".join(parts)


def buttons_of(replies: Iterable[Reply]) -> list[Button]:
    """Return every button of some replies, row by row."""
    return [
        button
        for reply in replies
        if isinstance(reply, Text | Image)
        for row in reply.buttons
        for button in row
    ]


@dataclass
class Chat:
    """One customer talking to the shop through the engine, as a channel would pass it on."""

    shop: Shop
    conversations: Conversations
    who: Who
    last: list[Reply] = field(default_factory=list)

    async def send(self, event: Event) -> list[Reply]:
        """Send any event and keep the answer."""
        self.last = await self.conversations.handle(self.who, event)
        return self.last

    async def command(self, name: str, arg: str = "") -> list[Reply]:
        """Send a command, e.g. /start with a deep-link payload."""
        return await self.send(Command(name, arg))

    async def say(self, text: str) -> list[Reply]:
        """Type a message."""
        return await self.send(Message(text))

    async def share_phone(self, phone: str, name: str = "") -> list[Reply]:
        """Share a phone number with the messenger's own button."""
        return await self.send(SharedContact(phone, name))

    async def tap(self, label: str) -> list[Reply]:
        """Press the button of the last answer whose label contains `label`."""
        return await self.send(self.button(label).press())

    async def answer_checkout(
        self, *, checkout: str = "Checkout", phone: str = "+1 555 0100 000", name: str = "Ann"
    ) -> list[Reply]:
        """From the cart: tap Checkout, type the phone and the name (delivery is asked next)."""
        await self.tap(checkout)
        await self.say(phone)
        return await self.say(name)

    def button(self, label: str) -> PressableButton:
        """Return the button of the last answer whose label contains `label`."""
        found = [b for b in buttons_of(self.last) if label in b.label]
        assert found, f"no button {label!r} among {[b.label for b in buttons_of(self.last)]}"
        return PressableButton(found[0])

    @property
    def text(self) -> str:
        """Return what the last answer said."""
        return texts_of(self.last)

    @property
    def labels(self) -> list[str]:
        """Return the labels of the last answer's buttons."""
        return [b.label for b in buttons_of(self.last)]

    @property
    def payment(self) -> PaymentRequest:
        """Return the payment request of the last answer."""
        found = [r for r in self.last if isinstance(r, PaymentRequest)]
        assert found, f"no payment request in {self.last}"
        return found[0]

    async def customer(self) -> CustomerView:
        """Return the customer record behind this chat."""
        customer = await self.shop.customers.find(self.who.channel, self.who.external_id)
        assert customer is not None
        return customer


@dataclass(frozen=True)
class PressableButton:
    """A button as the customer sees it."""

    button: Button

    def press(self) -> Press:
        """Return what pressing it sends."""
        assert self.button.action, f"{self.button.label!r} is not an action button"
        return Press(self.button.action, self.button.arg)


@dataclass
class Pushed:
    """What the shop says unasked to one channel's customers, as the delivery worker sends it."""

    shop: Shop
    conversations: Conversations
    channel: Channel
    staff: tuple[str, ...] = ()  # staff members' addresses on this channel
    messages: list[tuple[str, list[Reply]]] = field(default_factory=list)

    reports = False

    async def send(self, message: Outbound, replies: list[Reply]) -> list[str]:
        self.messages.append((message.address, replies))
        return [f"{message.address}:{len(self.messages)}"]

    async def texts(self, to: str | None = None) -> list[str]:
        """Deliver what is queued by now (a worker of this channel), then return what it sent.

        With `to`, only what went to that address.
        """
        staff = [(self.channel.value, address) for address in self.staff]
        worker = DeliveryWorker(
            self.shop, self.conversations, {self.channel.value: self}, staff=staff
        )
        while await worker.drain():
            pass
        return [texts_of(r) for address, r in self.messages if to is None or address == to]


@dataclass
class StaffInbox:
    """The staff's side of the help desk: questions as they arrive."""

    questions: list[StaffQuestion] = field(default_factory=list)

    async def forward(self, question: StaffQuestion) -> None:
        self.questions.append(question)


def engine(shop: Shop, *, staff: StaffDesk | None = None) -> Conversations:
    """Return the conversation engine over the database store, as `chatshop` runs it by default."""
    return Conversations(shop, DatabaseStore(shop.db), staff=staff)


def who(
    channel: Channel,
    user: str,
    name: str = "",
    language_code: str | None = None,
    *,
    can: Capabilities | None = None,
) -> Who:
    """Return a customer as `channel` knows them, with what it declares it can do (or `can`)."""
    declared = {Channel.TELEGRAM: TELEGRAM, Channel.CONSOLE: CONSOLE}.get(channel, Capabilities())
    return Who(channel, user, name, language_code, can if can is not None else declared)


def chat(
    shop: Shop,
    conversations: Conversations,
    channel: Channel = Channel.TELEGRAM,
    user: str = "1001",
    *,
    name: str = "Ann",
    language_code: str | None = "en",
    can: Capabilities | None = None,
) -> Chat:
    """Return a customer's chat with the shop (on a channel that can do `can`, if given)."""
    return Chat(shop, conversations, who(channel, user, name, language_code, can=can))


async def scan(
    shop: Shop, channel: Channel, user: str, payload: str | None, *, name: str = ""
) -> tuple[Visit, str]:
    """Open the chat from a code as a customer does (the flows' /start); return the visit and the answer."""
    replies = await engine(shop).handle(who(channel, user, name), Command("start", payload or ""))
    customer = await shop.customers.find(channel, user)
    assert customer is not None
    e = t.analytics_event.c
    started = (
        select(e.source)
        .where(e.customer_id == customer.id, e.kind == EventKind.START.value)
        .order_by(e.id.desc())
        .limit(1)
    )
    source = await shop.db.read(lambda conn: conn.execute(started).scalar_one())
    return Visit(customer.id, channel.value, source), texts_of(replies)
