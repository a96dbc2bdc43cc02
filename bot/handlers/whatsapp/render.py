"""Our replies as WhatsApp messages: text with numbered options, photos as media, payment links.

WhatsApp through Twilio takes up to 1,600 characters a message (a longer text goes
as several, split between paragraphs, lines or words) and a photo by its URL with a
caption; an album goes as one media message a photo, the caption on the first.
Buttons become numbered lines, numbered from 1 across one answer's replies
as `bot.flows.options` remembers them, so "3" means what the customer saw as 3.
Where the owner configured Content API templates, a text's options go as quick-reply
buttons (up to 3) or a list picker (up to 10); the buttons' ids are the options'
numbers, so a press is read exactly as the typed number. What the shop says unasked
shows only its links (a parcel's tracking page): numbers there would not mean what
the conversation showed, and options without numbers could not be chosen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.flows.options import is_label, is_option, offered
from bot.flows.types import (
    Album,
    Button,
    ContactRequest,
    Image,
    Keyboard,
    PaymentRequest,
    Reply,
    Text,
)

TEXT_LIMIT = 1600  # characters Twilio sends as one WhatsApp message
CAPTION_LIMIT = 1024  # characters WhatsApp shows under a photo
QUICK_REPLY_BODY = 1024  # a quick-reply template's body
QUICK_REPLY_TITLE = 20  # a quick-reply button's title
LIST_ITEM_TITLE = 24  # a list picker item's title
QUICK_REPLIES_MOST = 3  # buttons WhatsApp shows in a session message
LIST_MOST = 10  # items a list picker holds
_WEB = ("https://", "http://")  # media Twilio can fetch


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One WhatsApp message to create: text, a photo with a caption, or a Content API template."""

    body: str = ""
    media_url: str | None = None
    content_sid: str | None = None
    variables: Mapping[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the message as it is kept until sent."""
        return {
            "body": self.body,
            "media_url": self.media_url,
            "content_sid": self.content_sid,
            "variables": dict(self.variables) if self.variables is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Outgoing:
        """Read a kept message back."""
        return cls(**data)

    def params(self) -> dict[str, object]:
        """Return the message's fields as Twilio's Messages resource names them (create_async)."""
        if self.content_sid is not None:
            return {
                "content_sid": self.content_sid,
                "content_variables": json.dumps(dict(self.variables or {}), ensure_ascii=False),
            }
        params: dict[str, object] = {"body": self.body}
        if self.media_url is not None:
            params["media_url"] = [self.media_url]
        return params


class Renderer:
    """Turns a conversation's replies into the WhatsApp messages that show them."""

    def __init__(
        self,
        *,
        quick_replies: Mapping[int, str] | None = None,
        list_pickers: Mapping[int, str] | None = None,
    ) -> None:
        """Show options with the owner's Content API templates (by number of options) where set."""
        self._quick_replies = dict(quick_replies or {})
        self._list_pickers = dict(list_pickers or {})

    def render(self, replies: Sequence[Reply]) -> list[Outgoing]:
        """Return the messages for a conversation's `replies`, in order, their options numbered."""
        messages: list[Outgoing] = []
        number = 0
        for reply in replies:
            options = offered([reply])
            interactive = self._interactive(reply, options, number)
            if interactive is not None:
                messages.append(interactive)
            else:
                messages.extend(_plain(reply, number))
            number += len(options)
        return messages

    def _interactive(self, reply: Reply, options: list[Button], first: int) -> Outgoing | None:
        """Return a text's options as a template with buttons, if the owner configured one that fits."""
        if not isinstance(reply, Text) or any(button.url for button in options):
            return None
        count = len(options)
        if count <= QUICK_REPLIES_MOST and count in self._quick_replies:
            sid, width = self._quick_replies[count], QUICK_REPLY_TITLE
        elif count <= LIST_MOST and count in self._list_pickers:
            sid, width = self._list_pickers[count], LIST_ITEM_TITLE
        else:
            return None
        if len(reply.text) > QUICK_REPLY_BODY or first:  # ids are numbers from 1
            return None
        variables = {"1": reply.text}
        for place, button in enumerate(options, start=2):
            variables[str(place)] = _shortened(button.label, width)
        return Outgoing(content_sid=sid, variables=variables)


def pushed(replies: Sequence[Reply]) -> list[Outgoing]:
    """Return the messages for what the shop says unasked: photos, texts and links, no options."""
    return [message for reply in replies for message in _plain(reply, None)]


def template(sid: str, replies: Sequence[Reply]) -> Outgoing:
    """Return the message for an approved template that takes what `replies` say as its {{1}}."""
    said = "\n\n".join(message.body for message in pushed(replies) if message.body)
    return Outgoing(content_sid=sid, variables={"1": _shortened(said, QUICK_REPLY_BODY)})


def _rows(reply: Reply) -> Keyboard:
    """Return a reply's rows of buttons (none for a payment or a contact request)."""
    return reply.buttons if isinstance(reply, Text | Image) else ()


def _plain(reply: Reply, first: int | None) -> list[Outgoing]:
    """Return a reply as text (and a photo), options as lines numbered after `first`.

    With no `first` (a message the shop sends unasked), only the links among the
    options are shown, as bullets.
    """
    if isinstance(reply, PaymentRequest):
        url = reply.start.url
        return _texts(f"{reply.text}\n{reply.button_label}: {url}" if url else reply.text)
    if isinstance(reply, ContactRequest):  # WhatsApp knows the number: never asked, but said
        return _texts(reply.text)
    if isinstance(reply, Album):
        caption = _shortened(reply.caption, CAPTION_LIMIT)
        return [
            Outgoing(caption if n == 0 else "", media_url=url)
            for n, url in enumerate(url for url in reply.urls if url.startswith(_WEB))
        ]
    said = reply.text if isinstance(reply, Text) else reply.caption
    rows = _rows(reply)
    if first is None:
        rows = [[button for button in row if button.url] for row in rows]
    lines = _option_lines(rows, first)
    text = "\n".join([said, *lines])
    if isinstance(reply, Image) and reply.url.startswith(_WEB):
        if len(text) <= CAPTION_LIMIT:
            return [Outgoing(text, media_url=reply.url)]
        return [Outgoing(media_url=reply.url), *_texts(text)]
    return _texts(text)


def _option_lines(rows: Keyboard, first: int | None) -> list[str]:
    """Return rows of buttons as lines: options numbered after `first` (None: bullets), labels as they are."""
    lines = []
    number = first or 0
    for row in rows:
        parts = []
        for button in row:
            if is_label(button):  # a quantity, a page counter: in brackets, apart from numbers
                parts.append(f"({button.label})")
            elif is_option(button):
                number += 1
                head = "•" if first is None else f"{number}."
                parts.append(
                    f"{head} {button.label}: {button.url}"
                    if button.url
                    else f"{head} {button.label}"
                )
        if parts:
            lines.append("   ".join(parts))
    return lines


def _texts(text: str) -> list[Outgoing]:
    """Return a text as messages within Twilio's limit."""
    return [Outgoing(part) for part in split(text, TEXT_LIMIT)]


def split(text: str, limit: int) -> list[str]:
    """Split text into parts of at most `limit` characters: between paragraphs, else lines, else words."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = max(window.rfind("\n\n"), 0) or max(window.rfind("\n"), 0) or window.rfind(" ")
        if cut <= 0:  # one word longer than a message
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _shortened(text: str, width: int) -> str:
    """Return `text` cut to `width` characters, with an ellipsis when it was longer."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
