"""Browsing on WhatsApp: results as numbered options, "more" to the end, filters by number and in words."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from tests.conftest import FakeClock, row
from tests.fake_twilio import Sent, fake_twilio
from tests.whatsapp_support import WhatsApp, whatsapp_shop


@pytest.fixture
async def wa(sqlite_url: str, clock: FakeClock) -> AsyncIterator[WhatsApp]:
    zorbos = [
        row(
            f"Z{n:02}",
            title=f"Zorbo {n:02}",
            price=300 + 97 * n,
            stock=0 if n % 5 == 0 else 3,
            category="Zorbo",
            line=n + 2,
        )
        for n in range(20)
    ]
    async with (
        fake_twilio() as twilio,
        whatsapp_shop(sqlite_url, clock, twilio, rows=zorbos) as shop,
    ):
        yield shop


def said(replies: list[Sent]) -> str:
    return "\n".join(reply.words for reply in replies)


def option(replies: list[Sent], words: str) -> str:
    """Return the number shown before the first option whose label holds `words`."""
    for number, label in re.findall(r"(\d+)\. (.+?)(?=\s{3}\(?\d|$)", said(replies), re.M):
        if words in label:
            return str(number)
    raise AssertionError(f"no option {words!r} in {said(replies)!r}")


def listed(replies: list[Sent]) -> list[str]:
    return re.findall(r"\d+\. (Zorbo \d\d) ·", said(replies))


async def test_results_run_to_the_end_with_more_and_narrow_by_number_and_by_words(
    wa: WhatsApp,
) -> None:
    seen = listed(await wa.say("zorbo"))
    replies = await wa.say("more")
    seen += listed(replies)
    replies = await wa.say(option(replies, "More"))
    seen += listed(replies)
    assert "page 3 of 3" in said(replies)
    assert "More" not in said(replies)
    assert sorted(seen) == [f"Zorbo {n:02}" for n in range(20)]

    panel = await wa.say(option(replies, "Filters"))
    assert "20 products match." in said(panel)
    cheapest = await wa.say(option(panel, "Cheapest first"))
    assert listed(cheapest)[:3] == ["Zorbo 00", "Zorbo 01", "Zorbo 02"]

    narrowed = await wa.say("in stock under $6")
    assert "⚙️ up to $6.00 · in stock only · cheapest first" in said(narrowed)
    assert listed(narrowed) == ["Zorbo 01", "Zorbo 02", "Zorbo 03"]

    card = await wa.say(option(narrowed, "Zorbo 02"))
    assert said(card).startswith("Zorbo 02")
    back = await wa.say(option(card, "Back"))
    assert listed(back) == listed(narrowed)
