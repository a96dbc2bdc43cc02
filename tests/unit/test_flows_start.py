"""Start: the greeting, deep links from posters (product, category, promo, source), damaged codes."""

from __future__ import annotations

import pytest

from bot.flows.types import Image, Text
from bot.services import Shop
from shop.models import Channel, PromoKind
from tests.flow_support import chat, engine


async def test_start_greets_by_name_and_shows_the_main_menu(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("start")
    assert "Hello, Ann! Welcome to the shop." in ann.text
    for label in ("Catalog", "Search", "Cart", "My orders", "Language", "Help"):
        assert any(label in shown for shown in ann.labels)


async def test_a_poster_code_opens_the_product_and_remembers_where_the_customer_came_from(
    stocked: Shop,
) -> None:
    ann = chat(stocked, engine(stocked))
    replies = await ann.command("start", "p-TEA-1_s-window")
    card = replies[0]
    assert isinstance(card, Image)  # the product has a photo
    assert card.url == "https://example.com/tea.jpg"
    assert "Green tea" in card.caption
    assert "$10.00" in card.caption
    assert (await ann.customer()).first_source == "window"
    # The order placed in this visit is credited to the poster.
    await ann.answer_checkout(checkout="Buy now")
    await ann.tap("Pickup")
    order = (await stocked.orders.list_for_customer((await ann.customer()).id or 0))[0]
    assert order.source == "window"


async def test_a_later_scan_counts_for_the_visit_but_never_replaces_the_first_touch(
    stocked: Shop,
) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("start", "p-TEA-1_s-window")
    await ann.command("start", "p-TEA-2_s-flyer")
    assert (await ann.customer()).first_source == "window"
    counts = await stocked.analytics.counts()
    assert (counts["start"], counts["source"]) == (2, 2)


async def test_a_category_code_opens_that_shelf(stocked: Shop) -> None:
    tea = next(s.category for s in await stocked.catalog.categories() if s.category.name == "Tea")
    ann = chat(stocked, engine(stocked))
    await ann.command("start", f"c-{tea.id}")
    assert "Tea: page 1 of 1" in ann.text
    assert any("Green tea" in label for label in ann.labels)


async def test_a_promo_code_goes_into_the_cart_and_discounts_it(stocked: Shop) -> None:
    await stocked.promos.create("SUMMER10", PromoKind.PERCENT, 10)
    ann = chat(stocked, engine(stocked))
    await ann.command("start", "promo-summer10_s-flyer")
    assert "Promo code SUMMER10 is in your cart" in ann.text
    await ann.command("start", "p-TEA-2")
    await ann.tap("Add to cart")
    await ann.tap("Cart")
    assert "Promo code SUMMER10: −$1.25" in ann.text
    assert "Total: $11.25" in ann.text


@pytest.mark.parametrize(
    "payload",
    [
        "nonsense",
        "p-",
        "p-NO-SUCH-SKU",
        "c-999999",
        "c-x",
        "promo-NOPE",
        "_s-",
        "%%%",
        "p-" + "A" * 80,
    ],
)
async def test_an_unknown_or_damaged_code_opens_the_menu_with_a_friendly_word(
    stocked: Shop, payload: str
) -> None:
    ann = chat(stocked, engine(stocked))
    replies = await ann.command("start", payload)
    assert len(replies) == 1
    assert isinstance(replies[0], Text)
    assert "What would you like to do?" in ann.text
    assert any("Catalog" in label for label in ann.labels)
    assert "Traceback" not in ann.text


async def test_whatsapp_and_the_terminal_get_the_same_start(stocked: Shop) -> None:
    conversations = engine(stocked)
    for channel in (Channel.WHATSAPP, Channel.CONSOLE):
        customer = chat(stocked, conversations, channel, "+15550100")
        await customer.command("start", "p-TEA-2")
        assert "Black tea" in customer.text
