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
from functools import cache
from typing import Any

from rapidfuzz import fuzz, process

from bot.flows import actions as a
from bot.flows.types import Button, ConversationState, Image, Reply, Text
from shop.i18n import LOCALES, Language, short_phrases

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
    """Tell whether a button is shown as an option where there are no buttons.

    A label (a page counter, a quantity) is no option: nothing happens when it is
    chosen. Channels without buttons show it as it is, unnumbered (`is_label`).
    """
    inline_only = button.inline_query is not None and not button.action  # Telegram's search
    return not (inline_only or button.action == a.NOOP)


def is_label(button: Button) -> bool:
    """Tell whether a button only shows something (a page counter, a quantity), and what."""
    return button.action == a.NOOP and bool(button.label.strip())


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


def by_words(state: ConversationState, text: str, lang: Language) -> Button | None:
    """Return the option whose label the typed words match closely, in `lang` or the shop's other language."""
    options = _options(state)
    labels = [_plain(option.label) for option in options]
    for typed in (_plain(text), *_translated(_plain(text), lang)):
        best = process.extractOne(typed, labels, scorer=fuzz.ratio, score_cutoff=CLOSE_ENOUGH)
        if best is not None:
            return options[best[2]]
    return None


def _translated(typed: str, lang: Language) -> list[str]:
    """Return what typed words say in `lang`, where they are a label in another of the shop's languages."""
    said: list[str] = []
    for other in LOCALES:
        if other == lang.locale:
            continue
        phrases = _phrases(other)
        best = process.extractOne(
            typed, list(phrases), scorer=fuzz.ratio, score_cutoff=CLOSE_ENOUGH
        )
        if best is not None:  # one phrase may translate several messages ("Cart", "Your cart")
            said.extend(_plain(lang._(msgid)) for msgid in phrases[best[0]])
    return said


@cache
def _phrases(locale: str) -> dict[str, list[str]]:
    """Return the labels of `locale` as options are matched (plain words), with their msgids."""
    phrases: dict[str, list[str]] = {}
    for phrase, msgid in short_phrases(locale):
        phrases.setdefault(_plain(phrase), []).append(msgid)
    return phrases


def _options(state: ConversationState) -> list[Button]:
    kept: Any = state.data.get(OPTIONS)
    return [
        Button(entry[0], entry[1], entry[2], url=entry[3])
        for entry in (kept if isinstance(kept, list) else [])
        if isinstance(entry, list) and len(entry) == 4 and all(isinstance(v, str) for v in entry)
    ]


def _plain(label: str) -> str:
    """Return a label's words alone, in lower case: no emoji, counts or trailing numbers.

    "ё" reads as "е", as most Russians type it ("еще" chooses "Ещё").
    """
    return " ".join(_DECORATION.sub(" ", label).split()).casefold().replace("ё", "е")
