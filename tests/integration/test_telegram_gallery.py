"""A product's gallery on Telegram: the card's photo swiped in place, and every photo as an album."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import FakeClock, row
from tests.telegram_support import Harness, Sent, telegram_shop

PHOTOS = tuple(f"https://img.example/camera-{n}.jpg" for n in range(1, 4))


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Harness]:
    camera = row(
        "CAM-1",
        title="Instant camera",
        category="Cameras",
        image_url=PHOTOS[0],
        image_urls=PHOTOS,
    )
    async with telegram_shop(sqlite_url, clock, rows=[camera]) as harness:
        yield harness


def labelled(message: Sent, label: str) -> str:
    """Return the callback data of the button with this label."""
    for button in message.buttons:
        if button["text"] == label:
            return str(button["callback_data"])
    raise AssertionError(f"no {label!r} among {[b['text'] for b in message.buttons]}")


async def test_the_card_s_photo_is_swiped_in_place(tg: Harness) -> None:
    card = await tg.say("/start p-CAM-1")
    assert (card.method, card["photo"]) == ("sendPhoto", PHOTOS[0])
    assert [b["text"] for b in card.buttons][:4] == ["‹", "1/3", "›", "🖼 All photos (3)"]

    sent = await tg.press(card, "photo", data=labelled(card, "›"))

    assert [s.method for s in sent] == ["answerCallbackQuery", "editMessageMedia"]
    edited = sent[1]
    assert edited["message_id"] == str(card.answer["result"]["message_id"])
    assert (edited["media"]["type"], edited["media"]["media"]) == ("photo", PHOTOS[1])
    assert edited["media"]["caption"].startswith("Instant camera")
    assert "2/3" in [b["text"] for b in edited.buttons]

    back = await tg.press(edited, "photo", data=labelled(edited, "‹"))
    assert back[1]["media"]["media"] == PHOTOS[0]


async def test_all_photos_go_as_one_media_group_under_the_card(tg: Harness) -> None:
    card = await tg.say("/start p-CAM-1")

    sent = await tg.press(card, "photos")

    assert [s.method for s in sent] == ["answerCallbackQuery", "sendMediaGroup"]
    media = sent[1]["media"]
    assert [(m["type"], m["media"]) for m in media] == [("photo", url) for url in PHOTOS]
    assert media[0]["caption"] == "Instant camera"
    assert all("caption" not in m for m in media[1:])


async def test_an_album_telegram_cannot_fetch_goes_as_its_links(tg: Harness) -> None:
    card = await tg.say("/start p-CAM-1")
    tg.session.add_result_for(
        "sendMediaGroup",
        ok=False,
        error_code=400,
        description="Bad Request: failed to get HTTP URL content",
    )

    sent = await tg.press(card, "photos")

    assert [s.method for s in sent] == ["answerCallbackQuery", "sendMediaGroup", "sendMessage"]
    assert sent[2]["text"].splitlines() == ["Instant camera", *PHOTOS]
