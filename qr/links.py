"""Links that open the chat on a payload: Telegram deep links and WhatsApp click-to-chat.

- Telegram: ``https://t.me/<bot_username>?start=<payload>``; the bot's username
  comes from TELEGRAM_BOT_USERNAME, or from a `UsernameLookup` (Telegram's
  getMe, which the Telegram channel provides).
- WhatsApp: ``https://wa.me/<digits>?text=<prefilled text>``; the number is
  TWILIO_WHATSAPP_FROM (``whatsapp:+14155238886``), the text a short greeting in
  the customer's language that carries the payload (`shop.deeplink.parse`
  finds it in whatever the customer sends).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from qr.errors import QrError
from shop.deeplink import TELEGRAM_LIMIT, TargetKind
from shop.i18n import N_, Language
from shop.models import Channel

WHATSAPP_TEXT_LIMIT = 140  # what we promise to fit in a prefilled WhatsApp message
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{1,28}[Bb][Oo][Tt]")  # 5-32 characters
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NAMES = {Channel.TELEGRAM: "Telegram", Channel.WHATSAPP: "WhatsApp"}
# The prefilled WhatsApp message; {code} is the payload the shop reads back.
_GREETINGS = {
    TargetKind.PRODUCT: N_("Hi! I'd like {code}"),
    TargetKind.CATEGORY: N_("Hi! Show me {code}"),
    TargetKind.PROMO: N_("Hi! My promo code: {code}"),
}
_SHOP_GREETING = N_("Hi! I'm from your poster: {code}")

# Asks Telegram for the bot's @username (getMe); the Telegram channel provides one.
UsernameLookup = Callable[[], Awaitable[str]]


def channel_name(channel: Channel) -> str:
    """Return the channel's name as customers know it ("Telegram", "WhatsApp")."""
    return _NAMES.get(channel, channel.value)


def bot_username(value: str) -> str:
    """Return a bot's username without ``@`` or ``https://t.me/``, or raise QrError."""
    name = value.strip().removeprefix("https://").removeprefix("t.me/").lstrip("@")
    if not _USERNAME.fullmatch(name):
        raise QrError(
            f"TELEGRAM_BOT_USERNAME {value!r} is not a bot's username "
            "(5-32 letters, digits and _, ending in 'bot')"
        )
    return name


def whatsapp_number(value: str) -> str:
    """Return the digits of a WhatsApp number (``whatsapp:+1 415-523-8886`` → 14155238886)."""
    digits = re.sub(r"[\s().-]", "", value.strip().removeprefix("whatsapp:")).removeprefix("+")
    if not (digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 15) or digits[0] == "0":
        raise QrError(
            f"TWILIO_WHATSAPP_FROM {value!r} is not an international phone number "
            "(like whatsapp:+14155238886)"
        )
    return digits


def telegram_link(username: str, payload: str) -> str:
    """Return the deep link that opens the bot with `payload` as its start parameter."""
    _check_payload(payload)
    return f"https://t.me/{bot_username(username)}?start={payload}"


def whatsapp_text(kind: TargetKind, payload: str, locale: str | None) -> str:
    """Return the prefilled WhatsApp message that carries `payload` (at most 140 characters)."""
    _check_payload(payload)
    greeting = _GREETINGS.get(kind, _SHOP_GREETING)
    return Language.of(locale)._(greeting).format(code=payload)


def whatsapp_link(number: str, message: str) -> str:
    """Return the click-to-chat link that opens a chat with `number`, `message` typed in."""
    if len(message) > WHATSAPP_TEXT_LIMIT:
        raise QrError(
            f"a prefilled WhatsApp message holds at most {WHATSAPP_TEXT_LIMIT} characters"
        )
    encoded = quote(message, safe="!'():")  # left as they are: valid in a query, easier to read
    return f"https://wa.me/{whatsapp_number(number)}?text={encoded}"


@dataclass(frozen=True, slots=True)
class ChannelLinks:
    """Builds each channel's link for a payload; a channel without settings has None."""

    telegram_username: str | None = None
    whatsapp_number: str | None = None

    @classmethod
    async def create(
        cls,
        *,
        telegram_username: str | None,
        whatsapp_from: str | None,
        lookup: UsernameLookup | None = None,
    ) -> ChannelLinks:
        """Check the settings; ask `lookup` (getMe) for the username when it is not set."""
        username = telegram_username
        if not username and lookup is not None:
            username = await lookup()
        return cls(
            bot_username(username) if username else None,
            whatsapp_number(whatsapp_from) if whatsapp_from else None,
        )

    def configured(self) -> list[Channel]:
        """Return the channels whose links can be made, Telegram first."""
        channels = []
        if self.telegram_username:
            channels.append(Channel.TELEGRAM)
        if self.whatsapp_number:
            channels.append(Channel.WHATSAPP)
        return channels

    def link(self, channel: Channel, kind: TargetKind, payload: str, locale: str | None) -> str:
        """Return `channel`'s link for `payload`, or raise QrError naming the missing setting."""
        if channel is Channel.TELEGRAM:
            if not self.telegram_username:
                raise QrError("set TELEGRAM_BOT_USERNAME to make Telegram links")
            return telegram_link(self.telegram_username, payload)
        if channel is Channel.WHATSAPP:
            if not self.whatsapp_number:
                raise QrError("set TWILIO_WHATSAPP_FROM to make WhatsApp links")
            return whatsapp_link(self.whatsapp_number, whatsapp_text(kind, payload, locale))
        raise QrError(f"{channel.value} has no links")

    def handle(self, channel: Channel) -> str:
        """Return what to print for people who type rather than scan (t.me/…, +1…)."""
        if channel is Channel.TELEGRAM and self.telegram_username:
            return f"t.me/{self.telegram_username}"
        if channel is Channel.WHATSAPP and self.whatsapp_number:
            return f"+{self.whatsapp_number}"
        return ""


def _check_payload(payload: str) -> None:
    """Refuse what Telegram would not take as a start parameter."""
    if not _PAYLOAD.fullmatch(payload) or len(payload) > TELEGRAM_LIMIT:
        raise QrError(f"payload {payload!r} is not 1-64 characters of A-Za-z0-9_-")
