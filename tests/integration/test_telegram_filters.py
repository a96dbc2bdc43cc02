"""Browsing on Telegram: results paged, filtered and sorted in the one message, and Back to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import FakeClock, row
from tests.telegram_support import Harness, Sent, telegram_shop


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Harness]:
    coffees = [
        row(
            f"C{n:02}",
            title=f"Zorbo {n:02}",
            titles={"ru": f"Зорбо {n:02}"},
            price=300 + 97 * n,
            stock=0 if n % 5 == 0 else 3,
            category="Zorbo",
            attrs={"brand": ("Lavazza", "Illy")[n % 2]},
            line=n + 2,
        )
        for n in range(20)
    ]
    async with telegram_shop(sqlite_url, clock, rows=coffees) as harness:
        yield harness


def labelled(message: Sent, text: str) -> dict[str, Any]:
    """Return the button of a message whose text is or begins with `text`."""
    found = [b for b in message.buttons if b["text"] == text or b["text"].startswith(text)]
    assert found, f"no button {text!r} among {[b['text'] for b in message.buttons]}"
    return found[0]


async def tap(tg: Harness, message: Sent, text: str) -> Sent:
    """Press a button by its text; return the message that shows the answer (edited or new)."""
    sent = await tg.press(message, "", data=labelled(message, text)["callback_data"])
    assert sent[0].method == "answerCallbackQuery"
    return sent[-1]


async def test_results_are_paged_filtered_and_sorted_in_the_one_message_and_back_returns_to_it(
    tg: Harness,
) -> None:
    found = await tg.say("zorbo")
    message_id = found.answer["result"]["message_id"]
    assert found.method == "sendMessage"
    assert "Found for «zorbo»: page 1 of 3" in found.words

    page_two = await tap(tg, found, "›")
    assert (page_two.method, page_two["message_id"]) == ("editMessageText", str(message_id))
    assert "page 2 of 3" in page_two.words

    panel = await tap(tg, page_two, "⚙️ Filters")
    assert (panel.method, panel["message_id"]) == ("editMessageText", str(message_id))
    assert "20 products match." in panel.words
    assert "✓ Recommended" in [b["text"] for b in panel.buttons]

    sorted_ = await tap(tg, panel, "Cheapest first")
    assert (sorted_.method, sorted_["message_id"]) == ("editMessageText", str(message_id))
    assert "⚙️ cheapest first" in sorted_.words
    prices = [b["text"].split(" · ")[1] for b in sorted_.buttons if b["text"].startswith("Zorbo")]
    assert prices[:3] == ["$3.00", "$3.97", "$4.94"]

    panel = await tap(tg, sorted_, "⚙️ Filters")
    assert "✓ Cheapest first" in [b["text"] for b in panel.buttons]
    illy = await tap(tg, panel, "Brand: Illy")
    assert "⚙️ brand: Illy · cheapest first" in illy.words
    last = await tap(tg, illy, "›")
    assert "page 2 of 2" in last.words
    assert not any(b["text"] == "›" for b in last.buttons)

    card = await tap(tg, last, "Zorbo 19")
    assert (card.method, card["message_id"]) == ("editMessageText", str(message_id))
    back = await tap(tg, card, "« Back")
    assert (back.method, back["message_id"]) == ("editMessageText", str(message_id))
    assert back.words == last.words
    assert [b["text"] for b in back.buttons] == [b["text"] for b in last.buttons]


async def test_a_filter_typed_in_russian_answers_with_the_list_narrowed(tg: Harness) -> None:
    found = await tg.say("зорбо", language="ru")
    assert "Найдено по запросу «зорбо»: страница 1 из 3" in found.words

    narrowed = await tg.say("в наличии дешевле 6 $", language="ru")

    assert narrowed.method == "sendMessage"
    assert "⚙️ до 6,00\xa0$ · только в наличии" in narrowed.words
    titles = [b["text"].split(" · ")[0] for b in narrowed.buttons if b["text"].startswith("Зорбо")]
    assert titles == ["Зорбо 01", "Зорбо 02", "Зорбо 03"]
    assert all(
        len(b["callback_data"].encode()) <= 64 for b in narrowed.buttons if "callback_data" in b
    )
