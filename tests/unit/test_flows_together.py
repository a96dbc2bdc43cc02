"""Often bought together on the card and in the cart, on every channel and in both languages."""

from __future__ import annotations

import pytest

from bot.flows import actions as a
from bot.flows.options import offered
from bot.flows.types import Press
from bot.handlers.whatsapp.channel import WHATSAPP
from bot.services import Shop
from shop.models import Channel
from tests.flow_support import Chat, chat, engine
from tests.together_support import buy_history, product_id, stock_kitchen_and_books

CHANNELS = [Channel.TELEGRAM, Channel.WHATSAPP, Channel.CONSOLE]
# What the buttons say, in each language (locales/; titles from tests/together_support.py).
TOGETHER = {"en": "🤝 Often bought together", "ru": "🤝 Часто покупают вместе"}
BEST = {"en": "⭐ Best sellers", "ru": "⭐ Хиты продаж"}
PRICE = {"en": "$10.00", "ru": "10,00\xa0$"}
TITLES = {
    "en": {"KETTLE": "Kettle", "TEA": "Tea", "CUP": "Cup", "SPOON": "Spoon", "HONEY": "Honey"},
    "ru": {sku: f"{sku} ru" for sku in ("KETTLE", "TEA", "CUP", "SPOON", "HONEY")},
}


@pytest.fixture
async def bought(shop: Shop) -> Shop:
    """The kitchen and the books on sale, with their history of orders counted."""
    await stock_kitchen_and_books(shop)
    await buy_history(shop)
    await shop.together.fold()
    return shop


async def customer(shop: Shop, channel: Channel, locale: str) -> Chat:
    """A customer on `channel` speaking `locale`, past /start."""
    can = WHATSAPP if channel == Channel.WHATSAPP else None
    ann = chat(shop, engine(shop), channel, "3001", language_code=locale, can=can)
    await ann.command("start")
    return ann


def offer(locale: str, *skus: str) -> list[str]:
    """Return the heading and the buttons that offer `skus` together, as the customer reads them."""
    return [TOGETHER[locale]] + [f"{TITLES[locale][sku]} — {PRICE[locale]}" for sku in skus]


def shown_after(ann: Chat, heading: str, count: int) -> list[str]:
    """Return the heading's label and the `count` labels under it."""
    at = ann.labels.index(heading)
    return ann.labels[at : at + count + 1]


async def choose(ann: Chat, channel: Channel, label: str) -> None:
    """Press the button with `label` on Telegram; elsewhere type the number it is shown with."""
    if channel == Channel.TELEGRAM:
        await ann.tap(label)
        return
    numbers = [n for n, b in enumerate(offered(ann.last), 1) if b.label == label]
    assert len(numbers) == 1, [b.label for b in offered(ann.last)]
    await ann.say(str(numbers[0]))


@pytest.mark.parametrize("locale", ["en", "ru"])
@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_card_offers_products_bought_with_it_and_one_opens_its_card(
    bought: Shop, channel: Channel, locale: str
) -> None:
    ann = await customer(bought, channel, locale)
    await ann.send(Press(a.PRODUCT, str(await product_id(bought, "KETTLE"))))
    assert ann.text.startswith(TITLES[locale]["KETTLE"])
    assert shown_after(ann, TOGETHER[locale], 3) == offer(locale, "CUP", "TEA", "SPOON")

    await choose(ann, channel, f"{TITLES[locale]['CUP']} — {PRICE[locale]}")
    assert ann.text.startswith(TITLES[locale]["CUP"])  # the cup's card


@pytest.mark.parametrize("locale", ["en", "ru"])
@pytest.mark.parametrize("channel", CHANNELS)
async def test_the_cart_offers_what_was_bought_with_what_it_holds_and_one_opens_its_card(
    bought: Shop, channel: Channel, locale: str
) -> None:
    ann = await customer(bought, channel, locale)
    holder = await ann.customer()
    for sku in ("KETTLE", "TEA"):
        await bought.carts.add(holder.id, await product_id(bought, sku))
    await ann.command("cart")
    assert shown_after(ann, TOGETHER[locale], 3) == offer(locale, "CUP", "SPOON", "HONEY")

    await choose(ann, channel, f"{TITLES[locale]['HONEY']} — {PRICE[locale]}")
    assert ann.text.startswith(TITLES[locale]["HONEY"])  # honey's card


async def test_a_card_without_history_offers_its_category_s_best_sellers(bought: Shop) -> None:
    ann = await customer(bought, Channel.TELEGRAM, "en")
    await ann.send(Press(a.PRODUCT, str(await product_id(bought, "BOOK"))))
    assert TOGETHER["en"] not in ann.labels
    assert shown_after(ann, BEST["en"], 2) == [BEST["en"], "Novel — $10.00", "Atlas — $10.00"]


async def test_a_card_with_nothing_to_offer_and_an_empty_cart_show_no_heading(shop: Shop) -> None:
    await stock_kitchen_and_books(shop)  # nothing ever sold
    ann = await customer(shop, Channel.TELEGRAM, "en")
    await ann.send(Press(a.PRODUCT, str(await product_id(shop, "KETTLE"))))
    assert ann.text.startswith("Kettle")
    assert not {TOGETHER["en"], BEST["en"]} & set(ann.labels)
    await ann.command("cart")
    assert "Your cart is empty." in ann.text
    assert not {TOGETHER["en"], BEST["en"]} & set(ann.labels)
