"""Inline mode: live search results in any chat, paged; choosing one opens the product in our chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shop.deeplink import Scan, TargetKind, parse
from tests.conftest import FakeClock, row
from tests.telegram_support import (
    BOT_ID,
    BOT_USERNAME,
    USER_ID,
    Harness,
    Sent,
    last_message,
    message_json,
    telegram_shop,
    user_json,
)

PICTURE = "https://img.example/camera.jpg"


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Harness]:
    cameras = [
        row("CAM-1", title="Instant camera", image_url=PICTURE, category="Cameras"),
        row("CAM-2", title="Instant camera film", stock=0, category="Cameras"),
    ]
    async with telegram_shop(sqlite_url, clock, rows=cameras) as harness:
        yield harness


async def ask(
    tg: Harness, query: str, offset: str = "", *, language: str = "en", user: int = USER_ID
) -> Sent:
    sent = await tg.feed(
        inline_query={
            "id": "iq1",
            "from": user_json(user, language=language),
            "query": query,
            "offset": offset,
            "chat_type": "sender",
        }
    )
    assert [s.method for s in sent] == ["answerInlineQuery"]
    return sent[0]


def start_code(result: dict[str, Any]) -> str:
    url = result["reply_markup"]["inline_keyboard"][0][0]["url"]
    link = urlsplit(url)
    assert (link.hostname, link.path) == ("t.me", f"/{BOT_USERNAME}")
    return str(parse_qs(link.query)["start"][0])


async def test_every_keystroke_gets_live_results_with_price_and_stock(tg: Harness) -> None:
    answer = await ask(tg, "iphnoe")

    results = answer["results"]
    assert results
    assert answer["cache_time"] == "5"
    assert answer["is_personal"] == "true"
    for result in results:
        assert result["type"] == "article"
        assert "iPhone" in result["title"]
        assert "$" in result["description"]
        assert result["description"].endswith(("in stock", "out of stock"))
        assert result["input_message_content"]["message_text"].startswith(result["title"])
        found = parse(start_code(result))
        assert isinstance(found, Scan)
        assert found.target.kind is TargetKind.PRODUCT
        assert found.source == "inline"
    assert answer["button"]["start_parameter"]


async def test_photos_and_running_out_show_in_the_results(tg: Harness) -> None:
    results = {r["title"]: r for r in (await ask(tg, "instant camera"))["results"]}

    camera, film = results["Instant camera"], results["Instant camera film"]
    assert camera["thumbnail_url"] == PICTURE
    assert camera["input_message_content"]["link_preview_options"]["url"] == PICTURE
    assert "out of stock" in film["description"]
    assert "thumbnail_url" not in film


async def test_results_come_in_pages_with_next_offset(tg: Harness) -> None:
    first = await ask(tg, "iphone")
    assert len(first["results"]) == 20
    assert first["next_offset"] == "20"

    second = await ask(tg, "iphone", first["next_offset"])
    assert second["results"]
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}

    pages = [first, second]
    while pages[-1].get("next_offset"):
        pages.append(await ask(tg, "iphone", pages[-1]["next_offset"]))
    assert len(pages) < 10
    assert "next_offset" not in pages[-1]  # "" is not sent: no more pages
    # A made-up offset is read as the first page, never an error.
    assert (await ask(tg, "iphone", "junk"))["results"][0]["id"] == first["results"][0]["id"]


async def test_titles_and_prices_come_in_the_customers_language(tg: Harness) -> None:
    answer = await ask(tg, "iphone", language="ru")
    result = answer["results"][0]
    assert "Смартфон" in result["title"]
    assert "в наличии" in result["description"]
    assert "Открыть" in result["reply_markup"]["inline_keyboard"][0][0]["text"]


async def test_an_empty_or_fruitless_query_offers_to_open_the_shop(tg: Harness) -> None:
    empty = await ask(tg, "")
    assert empty.get("results") in (None, [])
    assert empty["button"]["text"] == "Open the shop"
    nothing = await ask(tg, "zzqqxxw")
    assert nothing["button"]["text"] == "Nothing found: open the shop"


async def test_a_result_posted_in_our_chat_opens_the_product_card(tg: Harness) -> None:
    result = (await ask(tg, "instant camera"))["results"][0]
    posted = message_json(
        text=result["input_message_content"]["message_text"],
        via_bot={"id": BOT_ID, "is_bot": True, "first_name": "Shop", "username": BOT_USERNAME},
        reply_markup=result["reply_markup"],
    )

    card = last_message(await tg.feed(message=posted))

    assert card.method == "sendPhoto"
    assert card["caption"].startswith("Instant camera")
    assert any(str(b.get("callback_data", "")).startswith("a|add|") for b in card.buttons)


async def test_the_deep_link_of_a_result_opens_the_product_from_any_chat(tg: Harness) -> None:
    result = (await ask(tg, "iphnoe"))["results"][0]

    card = await tg.say(f"/start {start_code(result)}", user=3003)

    assert card.words.startswith(result["title"])


async def test_a_message_via_another_bot_is_only_text(tg: Harness) -> None:
    posted = message_json(
        text="Instant camera",
        via_bot={"id": 999, "is_bot": True, "first_name": "Other", "username": "other_bot"},
    )
    found = last_message(await tg.feed(message=posted))
    assert "Found for" in found["text"]
