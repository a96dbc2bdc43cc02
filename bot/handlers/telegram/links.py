"""Deep links into the bot's chat: a product's poster code as Telegram's `start` parameter.

An inline result carries "Open in the shop" as a t.me link with the product's
code (from `shop.deeplink`, source "inline"): pressed anywhere, it opens our chat
on the product through /start, the way a scanned poster does; posted in our own
chat, the bot reads the same code off the message's button.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from aiogram.types import InlineKeyboardMarkup

from shop.attribution import AttributionService
from shop.deeplink import Target, inline, make_scan

INLINE_SOURCE = "inline"
_HOSTS = ("t.me", "telegram.me")


class ShopLinks:
    """Makes t.me links that open the bot's chat on a product."""

    def __init__(self, username: str, attribution: AttributionService) -> None:
        self.username = username
        self._attribution = attribution

    async def product_code(self, sku: str) -> str:
        """Return the deep-link payload that opens product `sku`, credited to inline mode."""
        target = Target.product(sku)
        code = inline(make_scan(target, INLINE_SOURCE))
        return code if code is not None else await self._attribution.code_for(target, INLINE_SOURCE)

    def start_url(self, payload: str) -> str:
        """Return the link that opens the bot's chat with /start `payload`."""
        return f"https://t.me/{self.username}?start={payload}"


def start_payload(markup: InlineKeyboardMarkup | None) -> str | None:
    """Return the `start` payload of the first t.me link among a message's buttons, if any."""
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if not button.url:
                continue
            link = urlsplit(button.url)
            if link.hostname in _HOSTS:
                found = parse_qs(link.query).get("start")
                if found:
                    return found[0]
    return None
