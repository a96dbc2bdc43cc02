"""What Twilio's webhook says, read: its signature checked, a customer's message or a status report.

Twilio posts a form (application/x-www-form-urlencoded) to `POST /whatsapp/webhook`
for each message a customer sends, and for each status change of a message the shop
sent with a status callback (both go to the one route). Every request is signed:
`X-Twilio-Signature` is the HMAC of the URL Twilio called and the sorted form
fields, with the account's Auth Token (SHA-1), or with a webhook SharedKey
(SHA-256) when `X-Twilio-Webhooks-Signature-Settings` says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from twilio.request_validator import (
    HMAC_SHA1,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from bot.flows.types import Command, Event, Message, typed
from shop.deeplink import find
from shop.plaintext import clean

ADDRESS_PREFIX = "whatsapp:"
# A greeting is how a WhatsApp customer opens a chat (there is no /start): it opens the menu.
_OPENERS = frozenset(
    {
        "hi",
        "hello",
        "hey",
        "start",
        "menu",
        "привет",
        "здравствуйте",
        "добрый день",
        "меню",
        "старт",
    }
)
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_DIGITS = re.compile(r"\d{6,15}")
MEDIA_LIMIT = 10  # WhatsApp sends at most this many attachments with a message


@dataclass(frozen=True, slots=True)
class Incoming:
    """A customer's WhatsApp message, as the webhook described it."""

    sid: str
    sender: str  # the customer's id: WaId (their number's digits), else From without its prefix
    profile_name: str = ""
    body: str = ""
    choice: str = ""  # the id of a quick-reply button or list item pressed (ButtonPayload, ListId)
    media: list[str] = field(default_factory=list)  # the attachments' content types
    location: str = ""  # a shared location, as words (its label and address, or its coordinates)

    def to_json(self) -> dict[str, Any]:
        """Return the message as it is kept until handled."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Incoming:
        """Read a kept message back."""
        return cls(**data)

    @property
    def knows_phone(self) -> bool:
        """Tell whether the customer's id is their phone number (a business-scoped id is not)."""
        return _DIGITS.fullmatch(self.sender) is not None

    @property
    def address(self) -> str:
        """Return where replies go: ``whatsapp:+<digits>``, or the id WhatsApp gave."""
        return address_of(self.sender)

    @property
    def language_hint(self) -> str | None:
        """Return the language the customer writes in, when the letters tell (WhatsApp gives none)."""
        return "ru" if _CYRILLIC.search(self.body + self.location) else None

    def event(self) -> Event | None:
        """Return the event this message stands for; None for one with nothing the shop can read."""
        if self.choice:
            return Message(self.choice)  # the buttons' ids are the options' numbers
        text = self.body.strip()
        code = find(text)
        if code is not None:  # a poster's prefilled greeting
            return Command("start", code)
        if text.lower().strip("!.?, ") in _OPENERS:
            return Command("start")
        if text or self.location:
            return typed(text or self.location)
        return None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Twilio's news of a message the shop sent: sent, delivered, read, failed or undelivered."""

    sid: str
    status: str
    error: str | None  # "63016: ..." when it failed


def address_of(sender: str) -> str:
    """Return the Twilio address of a customer's id on WhatsApp."""
    return f"{ADDRESS_PREFIX}+{sender}" if _DIGITS.fullmatch(sender) else ADDRESS_PREFIX + sender


def read(form: Mapping[str, str]) -> Incoming | StatusReport | None:
    """Return what a webhook's form says; None when it is neither a message nor a status report."""
    sid = form.get("MessageSid", "")
    if not sid or len(sid) > 64:
        return None
    status = form.get("MessageStatus")
    if status is not None:
        code = form.get("ErrorCode")
        message = form.get("ErrorMessage", "")
        error = f"{code}: {message}".rstrip(": ") if code else None
        return StatusReport(sid, status.lower(), error)
    sender = form.get("WaId") or form.get("From", "").removeprefix(ADDRESS_PREFIX).lstrip("+")
    if not sender or len(sender) > 64:
        return None
    return Incoming(
        sid=sid,
        sender=clean(sender),
        profile_name=form.get("ProfileName", ""),
        body=form.get("Body", ""),
        choice=clean(form.get("ButtonPayload") or form.get("ListId") or "")[:16],
        media=[form.get(f"MediaContentType{n}", "") for n in range(_media_count(form))],
        location=_location(form),
    )


def _media_count(form: Mapping[str, str]) -> int:
    """Return how many attachments the form says the message has."""
    count = form.get("NumMedia", "0")
    return min(int(count), MEDIA_LIMIT) if count.isdecimal() else 0


def _location(form: Mapping[str, str]) -> str:
    """Return a shared location as words: its label and address if given, else its coordinates."""
    latitude, longitude = form.get("Latitude"), form.get("Longitude")
    if not (latitude and longitude):
        return ""
    words = ", ".join(part for part in (form.get("Label"), form.get("Address")) if part)
    return clean(words or f"{latitude}, {longitude}")


def signed(
    url: str,
    form: Mapping[str, str],
    headers: Mapping[str, str],
    *,
    auth_token: str,
    webhook_key: str | None,
) -> bool:
    """Tell whether Twilio signed this request for `url` (the address Twilio was told to call)."""
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        return False
    algorithm = get_signature_algorithm(headers.get(SIGNATURE_SETTINGS_HEADER))
    if algorithm == HMAC_SHA1:
        secret: str | None = auth_token
    else:  # a SharedKey signs it; without its secret, nothing proves the request
        secret = webhook_key
    if secret is None:
        return False
    return bool(RequestValidator(secret).validate(url, dict(form), signature, algorithm))
