"""What every flow handler is given: the shop, who is talking, their language and conversation state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.flows.types import Button, ConversationState, Text
from shop.analytics import EventKind, Visit
from shop.i18n import Language
from shop.models import Channel
from shop.plaintext import clean
from shop.views import CustomerView

if TYPE_CHECKING:
    from bot.services import Shop


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can do. Each channel declares its own; flows ask this, never its name."""

    inline_search: bool = False  # search as the customer types, from any chat
    invoices: bool = False  # the messenger's own payment form (an invoice in the chat)
    shares_contact: bool = False  # a button that sends the customer's own phone number
    knows_phone: bool = False  # the customer's address on the channel is their phone number
    numbered_options: bool = False  # buttons shown as numbered lines, answered by number or words
    edits: bool = False  # a pressed message can be replaced in place (else replies come anew)


@dataclass(frozen=True, slots=True)
class Who:
    """The person behind an inbound event, as the channel knows them, and what it can do."""

    channel: Channel
    external_id: str  # Telegram user id as str, WhatsApp E.164, "console"
    display_name: str = ""
    language_code: str | None = None  # the messenger's hint, used until the customer picks one
    can: Capabilities = Capabilities()  # text only: the terminal

    def __post_init__(self) -> None:
        # A messenger name is whatever its owner typed; escape codes in it must reach
        # neither the database nor the greeting nor the staff.
        object.__setattr__(self, "display_name", clean(self.display_name))

    @property
    def phone(self) -> str | None:
        """Return the number the channel proves is theirs: their address, where it is one."""
        return self.external_id if self.can.knows_phone else None


@dataclass(frozen=True, slots=True)
class StaffQuestion:
    """A customer's question for the shop's staff."""

    customer_id: int
    channel: Channel
    name: str
    text: str
    locale: str


class StaffDesk(Protocol):
    """Where customers' questions go (as tickets, answered through `shop.tickets`)."""

    async def forward(self, question: StaffQuestion) -> None:
        """Hand a question to the staff."""
        ...


@dataclass(frozen=True, slots=True)
class DeepLink:
    """What a deep-link payload opens, and which poster or store the customer came from."""

    product_sku: str | None = None
    category_id: int | None = None
    category_name: str | None = None
    promo: str | None = None
    source: str | None = None


class PayloadDecoder(Protocol):
    """Reads a deep-link payload; None for a code that is unknown or damaged."""

    async def __call__(self, payload: str) -> DeepLink | None:
        """Return what the payload opens, or None."""
        ...


@dataclass(slots=True)
class Ctx:
    """One event being handled: the services, the customer, their language and state.

    Handlers read and change `state`; the engine saves it only if the handler
    returns normally, so a refused or failed event changes nothing.
    """

    shop: Shop
    who: Who
    customer: CustomerView
    state: ConversationState
    lang: Language
    staff: StaffDesk | None
    decode: PayloadDecoder
    pressed: bool = False  # the event is a button press: navigation edits the message in place

    @property
    def customer_id(self) -> int:
        """Return the customer's id."""
        return self.customer.id

    @property
    def locale(self) -> str:
        """Return the customer's locale ("en" or "ru")."""
        return self.lang.locale

    @property
    def source(self) -> str | None:
        """Return what brought the customer this visit (a poster, a store), if known."""
        value = self.state.data.get("source")
        return value if isinstance(value, str) else None

    def _(self, message: str) -> str:
        """Return `message` in the customer's language."""
        return self.lang._(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Return the plural form of a message for `n` in the customer's language."""
        return self.lang.ngettext(singular, plural, n)

    def money(self, amount: int, currency: str) -> str:
        """Format money for the customer."""
        return self.lang.money(amount, currency)

    def when(self, at: datetime) -> str:
        """Format a moment for the customer."""
        return self.lang.when(at)

    @property
    def replaces(self) -> bool:
        """Tell whether replies replace the message pressed: after a press, where the channel edits."""
        return self.pressed and self.who.can.edits

    def text(
        self, body: str, buttons: Sequence[Sequence[Button]] = (), *, edit: bool | None = None
    ) -> Text:
        """Return a message; after a button press it replaces the pressed message where it can."""
        return Text(
            body, buttons, edit=self.replaces if edit is None else edit and self.who.can.edits
        )

    def data(self, key: str) -> dict[str, Any]:
        """Return the state's dict under `key`, creating it."""
        value = self.state.data.get(key)
        if not isinstance(value, dict):
            value = {}
            self.state.data[key] = value
        return value

    @property
    def visit(self) -> Visit:
        """Return who is acting, on which channel, and what brought them: for funnel events."""
        return Visit(self.customer_id, self.who.channel.value, self.source)

    async def record(self, kind: EventKind, **values: Any) -> datetime:
        """Append a funnel event for this customer and visit; return its time."""
        return await self.shop.analytics.record(kind, self.visit, **values)
