"""The language flows and channels share: inbound events, conversation state, replies.

A flow is a function `(state, event, context) -> (new state, replies)`. Events
and replies are our own plain types, never aiogram's or Twilio's: each channel
adapter (bot/handlers) turns its updates into events and renders the replies —
inline keyboards on Telegram, numbered options on WhatsApp and in the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from payments.interface import PaymentStart

# --- what comes in -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """A command: /start (with a deep-link payload in `arg`), /search, /cart, /orders, ..."""

    name: str
    arg: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """Free text the customer typed."""

    text: str


@dataclass(frozen=True, slots=True)
class Press:
    """A button the customer pressed: an action and its argument (from our own `Button`)."""

    action: str
    arg: str = ""


@dataclass(frozen=True, slots=True)
class SharedContact:
    """The customer's own phone number, shared through the messenger's own button.

    Their own, as the messenger vouches: a channel passes on no one else's (a
    forwarded contact card), for the number joins their identities across channels.
    """

    phone: str
    name: str = ""


Event = Command | Message | Press | SharedContact

_COMMAND = re.compile(r"/(\w+)\s*(.*)", re.DOTALL)


def typed(text: str) -> Command | Message:
    """Return what a typed line stands for on a channel without commands of its own: /name arg, or words."""
    command = _COMMAND.fullmatch(text)
    return Command(command[1].lower(), command[2].strip()) if command else Message(text)


# --- what a conversation remembers ---------------------------------------------------


@dataclass(slots=True)
class ConversationState:
    """Where a customer is in the conversation, kept between messages and restarts.

    `step` names the question the shop is waiting an answer to ("" when none);
    `data` holds what the flows gathered so far (JSON-serialisable values only),
    e.g. the checkout answers and the visit's source (which poster brought them).
    """

    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0  # bumped on every save; stale writers are refused

    def to_json(self) -> dict[str, Any]:
        """Return the state as JSON-serialisable data."""
        return {"step": self.step, "data": self.data, "version": self.version}


# --- what goes out --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Button:
    """One choice offered to the customer.

    Exactly one of: `action` (pressing it comes back as `Press(action, arg)`), `url`
    (opens a link), or `inline_query` (Telegram: start inline search in this chat
    with that text; other channels show it as a hint or leave it out).
    """

    label: str
    action: str = ""
    arg: str = ""
    url: str = ""
    inline_query: str | None = None


Keyboard = Sequence[Sequence[Button]]  # rows of buttons


@dataclass(frozen=True, slots=True)
class Text:
    """A message, with buttons under it; `edit` asks to replace the message pressed."""

    text: str
    buttons: Keyboard = ()
    edit: bool = False


@dataclass(frozen=True, slots=True)
class Image:
    """A picture with a caption and buttons (a product card)."""

    url: str
    caption: str
    buttons: Keyboard = ()
    edit: bool = False


@dataclass(frozen=True, slots=True)
class Album:
    """Pictures shown full size, together (a product's gallery): no buttons, the caption once."""

    urls: tuple[str, ...]
    caption: str = ""


@dataclass(frozen=True, slots=True)
class ContactRequest:
    """Ask for the phone number with the messenger's own "share contact" button, if it has one."""

    text: str
    button_label: str


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """Ask the customer to pay: a Telegram invoice to send, or a link to open."""

    start: PaymentStart
    text: str  # what to say beside the link (or before the invoice)
    button_label: str


Reply = Text | Image | Album | ContactRequest | PaymentRequest
