"""Galleries: a product's photos paged on its card, in place where the channel edits, and all sent full size."""

from __future__ import annotations

import io

import pytest

from bot.flows import actions as a
from bot.flows.types import Album, Image, Press, Text
from bot.handlers.console import ConsoleChannel
from bot.services import Shop
from shop.i18n import Language
from shop.models import Channel
from tests.conftest import row
from tests.flow_support import Chat, chat, engine

PHOTOS = (
    "https://img.example/camera-front.jpg",
    "https://img.example/camera-back.jpg",
    "https://img.example/camera-top.jpg",
)


@pytest.fixture
async def gallery(shop: Shop) -> Shop:
    """A shop with a camera of three photos, a lens of one and a strap of none."""
    await shop.catalog.import_rows(
        [
            row(
                "CAM",
                title="Camera",
                titles={"ru": "Фотоаппарат"},
                category="Cameras",
                image_url=PHOTOS[0],
                image_urls=PHOTOS,
            ),
            row("LENS", title="Lens", category="Cameras", image_url="https://img.example/lens.jpg"),
            row("STRAP", title="Strap", category="Cameras"),
        ]
    )
    return shop


async def open_card(ann: Chat, sku: str) -> None:
    product = await ann.shop.catalog.product_by_sku(sku)
    assert product is not None
    await ann.send(Press(a.PRODUCT, str(product.id)))


def card_of(ann: Chat) -> Image:
    [card] = ann.last
    assert isinstance(card, Image)
    return card


async def test_the_card_shows_the_main_photo_and_pages_through_the_others_in_place(
    gallery: Shop,
) -> None:
    ann = chat(gallery, engine(gallery))
    await open_card(ann, "CAM")
    assert card_of(ann).url == PHOTOS[0]
    assert ann.labels[:4] == ["‹", "1/3", "›", "🖼 All photos (3)"]

    await ann.tap("›")
    assert (card_of(ann).url, card_of(ann).edit) == (PHOTOS[1], True)
    assert "2/3" in ann.labels
    assert card_of(ann).caption.startswith("Camera\n$10.00")
    await ann.tap("›")
    await ann.tap("›")  # round to the first again
    assert card_of(ann).url == PHOTOS[0]
    await ann.tap("‹")  # and back to the last
    assert (card_of(ann).url, ann.labels[1]) == (PHOTOS[2], "3/3")
    assert any("Add to cart" in label for label in ann.labels)  # the rest of the card stays


async def test_all_photos_sends_them_full_size_together_with_the_title(gallery: Shop) -> None:
    ann = chat(gallery, engine(gallery), language_code="ru")
    await open_card(ann, "CAM")

    replies = await ann.tap("Все фото (3)")

    assert replies == [Album(PHOTOS, "Фотоаппарат")]


async def test_one_photo_or_none_offers_no_gallery(gallery: Shop) -> None:
    ann = chat(gallery, engine(gallery))
    await open_card(ann, "LENS")
    assert card_of(ann).url == "https://img.example/lens.jpg"
    lens = ann.labels
    await open_card(ann, "STRAP")
    assert isinstance(ann.last[0], Text)
    for labels in (lens, ann.labels):
        assert not any(label in {"‹", "›"} or "All photos" in label for label in labels)


async def test_a_forged_photo_number_shows_the_nearest_photo_and_garbage_is_refused(
    gallery: Shop,
) -> None:
    ann = chat(gallery, engine(gallery))
    camera = await gallery.catalog.product_by_sku("CAM")
    strap = await gallery.catalog.product_by_sku("STRAP")
    assert camera is not None
    assert strap is not None

    await ann.send(Press(a.PHOTO, f"{camera.id}:999999999:1"))
    assert (card_of(ann).url, ann.labels[1]) == (PHOTOS[2], "3/3")
    await ann.send(Press(a.PHOTO, f"{camera.id}:0:1"))
    assert card_of(ann).url == PHOTOS[0]
    await ann.send(Press(a.PHOTOS, str(strap.id)))  # its photos gone since: its card
    assert isinstance(ann.last[0], Text)
    assert ann.text.startswith("Strap")

    for arg in ("x", f"{camera.id}:-1:1", f"{camera.id}:1:1:1", "424242:1:1"):
        await ann.send(Press(a.PHOTO, arg))
        assert "out of date" in ann.text or "no longer" in ann.text, arg
    await gallery.catalog.set_active("CAM", False)
    await ann.send(Press(a.PHOTOS, str(camera.id)))
    assert not any(isinstance(reply, Album) for reply in ann.last)


async def test_on_a_channel_without_buttons_the_gallery_is_chosen_by_number_and_words(
    gallery: Shop,
) -> None:
    ann = chat(gallery, engine(gallery), Channel.CONSOLE, "console")
    await open_card(ann, "CAM")

    await ann.say("2")  # ‹ is 1, the counter no option, › is 2
    assert card_of(ann).url == PHOTOS[1]
    assert not card_of(ann).edit  # a terminal prints anew
    replies = await ann.say("all photos")

    assert replies == [Album(PHOTOS, "Camera")]


def test_the_terminal_lists_an_albums_links_under_its_caption() -> None:
    out = io.StringIO()

    ConsoleChannel(out, Language("en")).show([Album(PHOTOS, "Camera")])

    assert out.getvalue().splitlines() == [
        "Camera",
        f"  1/3 {PHOTOS[0]}",
        f"  2/3 {PHOTOS[1]}",
        f"  3/3 {PHOTOS[2]}",
    ]
