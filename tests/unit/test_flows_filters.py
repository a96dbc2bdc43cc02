"""Filters, sorting, results paged to the end and Back to the list, on every channel."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.flows.options import offered
from bot.flows.types import Press, Text
from bot.handlers.console import CONSOLE
from bot.handlers.telegram.context import TELEGRAM
from bot.handlers.whatsapp.channel import WHATSAPP
from bot.services import Shop
from bot.stores import DatabaseStore
from shop.catalog_file import CatalogRow
from shop.models import Channel
from tests.conftest import row
from tests.flow_support import Chat, chat, engine

BRANDS = ("Lavazza", "Illy", "Jacobs")
FIRST_ARRIVAL = datetime(2026, 1, 1, tzinfo=UTC)


def coffee(n: int) -> CatalogRow:
    """Coffee n: $3.00 and 97 cents more each, every fifth sold out, brands in turn, newer as n grows."""
    return row(
        f"C{n:02}",
        title=f"Coffee {n:02}",
        titles={"ru": f"Кофе {n:02}"},
        category="Coffee",
        categories={"ru": "Кофе"},
        price=300 + 97 * n,
        stock=0 if n % 5 == 0 else 3,
        attrs={"brand": BRANDS[n % 3]},
        created=FIRST_ARRIVAL + timedelta(days=n),
        line=n + 2,
    )


COFFEES = 20


@pytest.fixture
async def roastery(shop: Shop) -> Shop:
    """A shop with twenty coffees (three pages of eight) and a tea."""
    await shop.catalog.import_rows(
        [coffee(n) for n in range(COFFEES)] + [row("TEA", title="Green tea", category="Tea")]
    )
    return shop


CHANNELS = {
    "telegram": (Channel.TELEGRAM, TELEGRAM),
    "whatsapp": (Channel.WHATSAPP, WHATSAPP),
    "terminal": (Channel.CONSOLE, CONSOLE),
}


def on(shop: Shop, channel: str, language: str = "en") -> Chat:
    """Return a customer's chat on a channel, as that channel declares what it can do."""
    kind, can = CHANNELS[channel]
    return chat(shop, engine(shop), kind, "+15550100", language_code=language, can=can)


async def choose(customer: Chat, label: str) -> None:
    """Choose an option as the channel offers it: a button on Telegram, its number elsewhere."""
    if not customer.who.can.numbered_options:
        await customer.tap(label)
        return
    numbers = [n for n, b in enumerate(offered(customer.last), 1) if label in b.label]
    assert numbers, f"no option {label!r} among {customer.labels}"
    await customer.say(str(numbers[0]))


def products(customer: Chat) -> list[tuple[str, int, bool]]:
    """Return the products the last answer lists: title, price in cents, in stock."""
    listed = []
    for label in customer.labels:
        found = re.fullmatch(
            r"(Coffee|Кофе) (\d\d) · (.+?)(?: · (out of stock|нет в наличии))?", label
        )
        if found:
            cents = int(re.sub(r"\D", "", found[3]))
            listed.append((f"{found[1]} {found[2]}", cents, found[4] is None))
    return listed


def edited(customer: Chat) -> bool:
    """Tell whether the last answer replaced the message pressed."""
    return isinstance(customer.last[0], Text) and customer.last[0].edit


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_filter_and_a_sort_chosen_as_options_narrow_and_order_the_results(
    roastery: Shop, channel: str
) -> None:
    ann = on(roastery, channel)
    await ann.say("coffee")
    assert "page 1 of 3" in ann.text

    await choose(ann, "Filters")
    assert "20 products match." in ann.text
    assert edited(ann) == (channel == "telegram")
    await choose(ann, "In stock only")
    in_stock = products(ann)
    assert edited(ann) == (channel == "telegram")
    assert "⚙️ in stock only" in ann.text
    assert all(available for _, _, available in in_stock)
    assert "Filters (1)" in " ".join(ann.labels)

    await choose(ann, "Filters")
    assert "✓ 📦 In stock only" in ann.labels
    assert "16 products match." in ann.text
    await choose(ann, "Cheapest first")
    cheapest = products(ann)
    assert [price for _, price, _ in cheapest] == sorted(price for _, price, _ in cheapest)
    assert cheapest[0] == ("Coffee 01", 397, True)
    assert "⚙️ in stock only · cheapest first" in ann.text

    await choose(ann, "Filters")
    assert "✓ Cheapest first" in ann.labels
    await choose(ann, "Clear filters")  # the order stays: it narrows nothing
    assert "⚙️ cheapest first" in ann.text.splitlines()
    assert any(not available for _, _, available in products(ann))


@pytest.mark.parametrize("channel", CHANNELS)
async def test_filters_typed_in_english_and_russian_apply_to_a_search_or_the_list_on_screen(
    roastery: Shop, channel: str
) -> None:
    ann = on(roastery, channel)
    await ann.say("coffee under $8")
    assert "Found for «coffee»:" in ann.text
    assert "⚙️ up to $8.00" in ann.text
    assert {title for title, _, _ in products(ann)} == {f"Coffee {n:02}" for n in range(6)}

    await ann.say("expensive first")
    assert [price for _, price, _ in products(ann)] == [785, 688, 591, 494, 397, 300]
    await ann.say("in stock")
    assert "⚙️ up to $8.00 · in stock only · most expensive first" in ann.text

    olga = on(roastery, channel, "ru")
    await olga.command("catalog")
    await choose(olga, "Кофе")
    assert "Кофе: страница 1 из 3" in olga.text
    if olga.who.can.numbered_options:
        await olga.say("еще")  # "Ещё" as most type it
        assert "Кофе: страница 2 из 3" in olga.text
    await olga.say("до 5 $")  # prices are in the shop's money: dollars here
    assert [title for title, _, _ in products(olga)] == ["Кофе 01", "Кофе 02", "Кофе 00"]
    await olga.say("сначала дешёвые")
    assert [price for _, price, _ in products(olga)] == [300, 397, 494]
    assert "⚙️ до 5,00\xa0$ · сначала дешёвые" in olga.text
    await olga.say("в наличии")
    assert [title for title, _, _ in products(olga)] == ["Кофе 01", "Кофе 02"]
    await choose(olga, "Фильтры")
    assert "Подходят 2 товара." in olga.text
    await olga.say("illy")  # a brand the list holds
    assert [title for title, _, _ in products(olga)] == ["Кофе 01"]
    assert "brand: Illy" in olga.text
    await choose(olga, "Фильтры")
    assert "Подходит 1 товар." in olga.text


@pytest.mark.parametrize("channel", CHANNELS)
async def test_results_page_on_to_the_end_and_back_from_a_product_returns_to_the_same_page(
    roastery: Shop, channel: str
) -> None:
    ann = on(roastery, channel)
    await ann.say("coffee")
    seen = products(ann)
    more = "More" if ann.who.can.numbered_options else "›"
    while any(more in label for label in ann.labels):
        await choose(ann, more)
        assert edited(ann) == (channel == "telegram")
        seen += products(ann)
    assert "page 3 of 3" in ann.text
    assert len(seen) == len(set(seen)) == COFFEES

    await choose(ann, "‹")
    assert "page 2 of 3" in ann.text
    page_two = list(ann.labels)
    title = products(ann)[3][0]
    await choose(ann, title)
    assert ann.text.startswith(title)
    await choose(ann, "+")
    await choose(ann, "Back")
    assert "Found for «coffee»: page 2 of 3" in ann.text
    assert ann.labels == page_two


@pytest.mark.parametrize("channel", CHANNELS)
async def test_back_from_a_product_returns_to_the_filtered_shelf(
    roastery: Shop, channel: str
) -> None:
    ann = on(roastery, channel)
    await ann.command("catalog")
    await choose(ann, "Coffee")
    await choose(ann, "Filters")
    await choose(ann, "Brand: Illy")
    shelf = list(ann.labels)
    assert {title for title, _, _ in products(ann)} == {
        "Coffee 01",
        "Coffee 04",
        "Coffee 07",
        "Coffee 10",
        "Coffee 13",
        "Coffee 16",
        "Coffee 19",
    }
    await choose(ann, "Coffee 13")
    await choose(ann, "Back")
    assert "Coffee: page 1 of 1" in ann.text
    assert "⚙️ brand: Illy" in ann.text
    assert ann.labels == shelf


async def test_a_price_band_drawn_from_the_lists_prices_narrows_it_and_is_taken_off_again(
    roastery: Shop,
) -> None:
    ann = on(roastery, "telegram")
    await ann.say("coffee")
    await ann.tap("Filters")
    assert [label for label in ann.labels if "$" in label] == [
        "Up to $5.00",
        "$5.00 – $10.00",
        "$10.00 – $15.00",
        "From $15.00",
    ]
    await ann.tap("$5.00 – $10.00")
    assert {price for _, price, _ in products(ann)} == {591, 688, 785, 882, 979}
    await ann.tap("Filters")
    await ann.tap("✓ $5.00 – $10.00")
    assert "⚙️" not in ann.text


async def test_the_filters_survive_a_restart(roastery: Shop) -> None:
    ann = on(roastery, "terminal")
    await ann.say("coffee under 10")
    filters = next(n for n, b in enumerate(offered(ann.last), 1) if "Filters" in b.label)

    restarted = chat(roastery, engine(roastery), Channel.CONSOLE, "+15550100", can=CONSOLE)
    await restarted.say(str(filters))
    assert "✓ Up to $10.00" in restarted.labels
    again = chat(roastery, engine(roastery), Channel.CONSOLE, "+15550100", can=CONSOLE)
    await again.say("newest")
    assert "⚙️ up to $10.00 · newest first" in again.text
    assert products(again)[0][0] == "Coffee 07"


async def test_a_phrase_in_a_products_title_is_searched_not_taken_as_a_filter(shop: Shop) -> None:
    await shop.catalog.import_rows(
        [
            row("TEE", title="In Stock Tee", stock=0, category="Tees"),
            row("CAP", title="Newest Cap", stock=4, category="Tees", line=3),
            row("SOX", title="Plain socks", stock=4, category="Tees", line=4),
        ]
    )
    ann = chat(shop, engine(shop))
    await ann.say("in stock tee")
    assert any("In Stock Tee" in label for label in ann.labels)
    assert "⚙️" not in ann.text
    await ann.say("newest")
    assert any("Newest Cap" in label for label in ann.labels)
    assert "⚙️" not in ann.text


@pytest.mark.parametrize(
    "press",
    [
        Press("ls", "99:1"),  # a list never kept
        Press("ls", "1:x"),
        Press("lsf", "99"),
        Press("lsx", "1:s9"),  # no such sort
        Press("lsx", "1:a7"),  # no such attribute value
        Press("lsx", "1:p5-1"),  # a band upside down
        Press("lsx", "1:p-"),
        Press("lsx", "1:zz"),
        Press("lsx", "99:i"),
    ],
)
async def test_a_forged_list_button_changes_nothing_and_is_answered_clearly(
    roastery: Shop, press: Press
) -> None:
    ann = on(roastery, "telegram")
    await ann.say("coffee")
    store = DatabaseStore(roastery.db)
    before = await store.load((await ann.customer()).id)

    await ann.send(press)

    assert "Sorry, that button is out of date." in ann.text
    after = await store.load((await ann.customer()).id)
    assert after.data == before.data


async def test_a_page_past_the_end_shows_the_last_one_and_an_old_cards_back_finds_the_shelf(
    roastery: Shop,
) -> None:
    ann = on(roastery, "telegram")
    await ann.say("coffee")
    await ann.send(Press("ls", "1:999"))
    assert "page 3 of 3" in ann.text

    cup = await roastery.catalog.product_by_sku("C03")
    assert cup is not None
    await ann.send(Press("prod", f"{cup.id}:1:77"))  # a list long let go
    await ann.tap("Back")
    assert "Coffee: page 1 of 3" in ann.text
