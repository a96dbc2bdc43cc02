"""Options by number on channels without buttons: "3" always means what the customer saw as 3.

A text-only channel (the terminal, WhatsApp) shows a reply's buttons as numbered
lines. The numbers the customer last saw in the conversation are kept in its state,
so they survive restarts, other workers and messages the shop sent meanwhile, and a
number is read against them, not against whatever screen came since. The options can
also be answered by their words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rapidfuzz import fuzz, process

from bot.flows import actions as a
from bot.flows.types import Button, ConversationState, Image, Reply, Text

OPTIONS = "options"  # state key: the numbered options last shown
MOST_DIGITS = 3  # no reply has a thousand options: a longer number is text
# How closely typed words must match an option's label (rapidfuzz's 0-100) to choose it.
CLOSE_ENOUGH = 85
# A count in brackets first: else its brackets would go as punctuation and leave the number.
_DECORATION = re.compile(r"\(\d+\)|[^\w\s]|\d+$", re.UNICODE)  # "(3)" counts, emoji, prices' tails


def offered(replies: Sequence[Reply]) -> list[Button]:
    """Return the options `replies` show, in the order they are numbered from 1."""
    return [
        button
        for reply in replies
        if isinstance(reply, Text | Image)
        for row in reply.buttons
        for button in row
        if is_option(button)
    ]


def is_option(button: Button) -> bool:
    """Tell whether a button is shown as an option where there are no buttons."""
    inline_only = button.inline_query is not None and not button.action  # Telegram's search
    spacer = button.action == a.NOOP and not button.label.strip()
    return not (inline_only or spacer)


def remember(state: ConversationState, replies: Sequence[Reply]) -> None:
    """Keep the options `replies` show as the ones numbers refer to; a reply without any keeps the last."""
    shown = offered(replies)
    if shown:
        state.data[OPTIONS] = [[b.label, b.action, b.arg, b.url] for b in shown]


def numbered(text: str) -> int | None:
    """Return the option number `text` is, if it is one."""
    return int(text) if text.isdecimal() and len(text) <= MOST_DIGITS else None


def by_number(state: ConversationState, number: int) -> Button | None:
    """Return the option the customer saw as `number`, if there was one."""
    options = _options(state)
    return options[number - 1] if 1 <= number <= len(options) else None


def by_words(state: ConversationState, text: str) -> Button | None:
    """Return the option whose label the typed words match closely, if one does."""
    options = _options(state)
    labels = [_plain(option.label) for option in options]
    best = process.extractOne(_plain(text), labels, scorer=fuzz.ratio, score_cutoff=CLOSE_ENOUGH)
    return options[best[2]] if best is not None else None


def _options(state: ConversationState) -> list[Button]:
    kept: Any = state.data.get(OPTIONS)
    return [
        Button(entry[0], entry[1], entry[2], url=entry[3])
        for entry in (kept if isinstance(kept, list) else [])
        if isinstance(entry, list) and len(entry) == 4 and all(isinstance(v, str) for v in entry)
    ]


def _plain(label: str) -> str:
    """Return a label's words alone, in lower case: no emoji, counts or trailing numbers."""
    return " ".join(_DECORATION.sub(" ", label).split()).casefold()
