"""Browsing and search: categories, pages edited in place, product cards, typo-tolerant search."""

from __future__ import annotations

import pytest

from bot.flows.labels import distinct_titles
from bot.flows.types import Image, Press, Text
from bot.services import Shop
from shop.models import Channel
from tests.conftest import row
from tests.flow_support import buttons_of, chat, engine


async def test_categories_list_the_shelves_with_their_counts(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("start")
    await ann.tap("Catalog")
    assert "Choose a category:" in ann.text
    assert "Tea (3)" in ann.labels


async def test_category_pages_turn_in_place(shop: Shop) -> None:
    await shop.catalog.import_rows(
        [row(f"T{n:02}", title=f"Tea {n:02}", category="Tea", line=n) for n in range(20)]
    )
    ann = chat(shop, engine(shop))
    await ann.command("catalog")
    await ann.tap("Tea")
    assert "Tea: page 1 of 3" in ann.text
    assert "‹" not in ann.labels
    assert "›" in ann.labels
    replies = await ann.tap("›")
    assert isinstance(replies[0], Text)
    assert replies[0].edit
    assert "Tea: page 2 of 3" in ann.text
    assert "‹" in ann.labels
    assert "›" in ann.labels
    await ann.tap("›")
    assert "Tea: page 3 of 3" in ann.text
    assert "›" not in ann.labels
    await ann.tap("‹")
    assert "Tea: page 2 of 3" in ann.text


async def test_the_product_card_shows_photo_price_stock_and_the_quantity(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("catalog")
    await ann.tap("Tea")
    card = (await ann.tap("Green tea"))[0]
    assert isinstance(card, Image)
    assert card.caption.splitlines()[:3] == ["Green tea", "$10.00", "In stock: 5"]
    await ann.tap("+")
    await ann.tap("+")
    assert "3" in ann.labels
    await ann.tap("−")
    assert "2" in ann.labels
    await ann.tap("Add to cart")
    assert "Added 2 units to the cart." in ann.text
    assert "In your cart: 2" in ann.text
    assert any(label.endswith("Cart (2)") for label in ann.labels)


async def test_the_quantity_never_goes_past_what_is_in_stock(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    cup = await stocked.catalog.product_by_sku("CUP")
    assert cup is not None
    await ann.send(Press("prod", f"{cup.id}:50:1"))  # a forged quantity
    assert "3" in ann.labels  # all there is
    assert "+" not in ann.labels


async def test_an_out_of_stock_product_offers_no_way_to_buy_it(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("catalog")
    await ann.tap("Tea")
    assert any("Sold-out tea" in label and "out of stock" in label for label in ann.labels)
    await ann.tap("Sold-out tea")
    assert "Out of stock" in ann.text
    assert not any("Add to cart" in label or "Buy now" in label for label in ann.labels)


async def test_a_russian_customer_sees_russian_titles_and_their_money_format(
    stocked: Shop,
) -> None:
    olga = chat(stocked, engine(stocked), user="2002", name="Ольга", language_code="ru")
    await olga.command("start", "p-TEA-1")
    assert olga.text.splitlines()[:3] == ["Зелёный чай", "10,00\xa0$", "В наличии: 5"]
    await olga.command("start", "p-CUP")
    assert "1\xa0299,90\xa0$" in olga.text  # Babel's Russian format, with no-break spaces


async def test_search_forgives_typos_and_offers_did_you_mean_buttons(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.say("gren tea")
    assert "Found for «gren tea»:" in ann.text
    assert any("Green tea" in label for label in ann.labels)
    await ann.say("grxxn")
    assert "Nothing found for «grxxn»." in ann.text
    assert "Did you mean:" in ann.text
    suggestion = ann.button("🔎")
    await ann.send(suggestion.press())
    assert any("Green tea" in label for label in ann.labels)


async def test_search_asks_first_when_pressed_and_takes_the_next_text(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked), Channel.WHATSAPP, "+15550100")
    await ann.command("start")
    await ann.tap("Search")
    assert "What are you looking for?" in ann.text
    await ann.say("black")
    assert any("Black tea" in label for label in ann.labels)


async def test_on_telegram_the_search_button_opens_inline_search(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("start")
    search = next(b for b in buttons_of(ann.last) if "Search" in b.label)
    assert search.inline_query == ""
    assert not search.action
    terminal = chat(stocked, engine(stocked), Channel.CONSOLE, "console")
    await terminal.command("start")
    search = next(b for b in buttons_of(terminal.last) if "Search" in b.label)
    assert search.action
    assert search.inline_query is None


HEADPHONES = "Наушники Sony WH-1000XM5 беспроводные, с шумоподавлением"


async def test_products_whose_labels_would_collide_are_shown_told_apart(shop: Shop) -> None:
    await shop.catalog.import_rows(
        [
            row("SNY-B", title=f"{HEADPHONES}, чёрные", category="Audio", price=39_999),
            row("SNY-S", title=f"{HEADPHONES}, серебристые", category="Audio", price=39_999),
            row("CBL-1", title="USB-C cable", category="Audio", line=3),
            row("CBL-2", title="USB-C cable", category="Audio", line=4),
        ]
    )
    ann = chat(shop, engine(shop), Channel.WHATSAPP, "+15550100", language_code="ru")
    await ann.command("catalog")
    await ann.tap("Audio")
    shelf = [label for label in ann.labels if "$" in label]
    await ann.say("наушники sony")
    found = [label for label in ann.labels if "$" in label]

    assert len(shelf) == len(set(shelf)) == 4
    price = "399,99\xa0$"
    assert any(label.endswith(f"… чёрные · {price}") for label in shelf), shelf
    assert any(label.endswith(f"… серебристые · {price}") for label in shelf), shelf
    assert any(label.startswith("USB-C cable · CBL-1 ·") for label in shelf), shelf
    assert any(label.startswith("USB-C cable · CBL-2 ·") for label in shelf), shelf
    assert all(len(label.split(" · ")[0]) <= 40 for label in shelf)
    assert {label for label in found if "Sony" in label} == {
        label for label in shelf if "Sony" in label
    }


def test_titles_alike_keep_their_start_as_far_as_room_allows_and_all_that_differs() -> None:
    titles = distinct_titles(
        [
            (f"{HEADPHONES}, чёрные", "SNY-B"),
            (f"{HEADPHONES}, серебристые", "SNY-S"),
            ("Green tea", "T1"),
        ]
    )

    assert titles == [
        "Наушники Sony WH-1000XM5 беспров… чёрные",
        "Наушники Sony WH-1000XM5 бе… серебристые",
        "Green tea",
    ]
    assert distinct_titles([("Mug", "M1"), ("Mug", "M2")]) == ["Mug · M1", "Mug · M2"]
    assert distinct_titles([(HEADPHONES + " X", "A"), (HEADPHONES + " Y", "B")], 16) == [
        "Наушники Sony… X",
        "Наушники Sony… Y",
    ]


async def test_on_a_channel_without_buttons_a_number_keeps_its_meaning_across_a_restart(
    stocked: Shop,
) -> None:
    ann = chat(stocked, engine(stocked), Channel.CONSOLE, "console")
    await ann.command("start")
    cart = next(n for n, label in enumerate(ann.labels, 1) if "Cart" in label)

    restarted = chat(stocked, engine(stocked), Channel.CONSOLE, "console")
    await restarted.say(str(cart))
    assert "Your cart is empty." in restarted.text


async def test_on_a_channel_without_buttons_an_option_is_chosen_by_its_words(
    stocked: Shop,
) -> None:
    ann = chat(stocked, engine(stocked), Channel.CONSOLE, "console")
    await ann.command("start", "p-TEA-2")
    await ann.tap("Add to cart")
    assert "🛒 Cart (1)" in ann.labels  # the label carries the count

    await ann.say("cart")
    assert "Your cart: 1 item" in ann.text


@pytest.mark.parametrize(
    ("language", "typed", "answer"),
    [("ru", "catalog", "Выберите категорию"), ("en", "корзина", "Your cart is empty.")],
)
async def test_an_option_may_be_answered_by_its_words_in_the_shops_other_language(
    stocked: Shop, language: str, typed: str, answer: str
) -> None:
    ann = chat(stocked, engine(stocked), Channel.CONSOLE, "console", language_code=language)
    await ann.command("start")

    await ann.say(typed)

    assert answer in ann.text
    assert "Nothing found" not in ann.text
    assert "Ничего не найдено" not in ann.text
