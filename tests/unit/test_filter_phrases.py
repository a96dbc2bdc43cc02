"""Filters typed in words, in English and Russian: prices in minor units, stock, order, brands."""

from __future__ import annotations

import pytest

from bot.flows.browse import price_bands
from shop.filter_phrases import read_phrases
from shop.filters import Filters, Sort


@pytest.mark.parametrize(
    ("typed", "currency", "query", "low", "high"),
    [
        ("coffee under 10", "USD", "coffee", None, 1_000),
        ("coffee under $10", "USD", "coffee", None, 1_000),
        ("under 10.50", "USD", "", None, 1_050),
        ("tea below 5 $", "USD", "tea", None, 500),
        ("over 20 dollars", "USD", "", 2_000, None),
        ("between 5 and 7.5", "USD", "", 500, 750),
        ("$10 - $20", "USD", "", 1_000, 2_000),
        ("under 1,000", "USD", "", None, 100_000),
        ("до 500 ₽", "RUB", "", None, 50_000),
        ("чай до 500 руб", "RUB", "чай", None, 50_000),
        ("до 10,50 р.", "RUB", "", None, 1_050),
        ("от 100 до 500", "RUB", "", 10_000, 50_000),
        ("кофе от 300 ₽", "RUB", "кофе", 30_000, None),
        ("дешевле 300 рублей", "RUB", "", None, 30_000),
        ("чай до 1 000 ₽", "RUB", "чай", None, 100_000),
        ("under 500", "JPY", "", None, 500),  # no minor units
    ],
)
def test_a_price_limit_is_read_in_minor_units_of_the_shops_money(
    typed: str, currency: str, query: str, low: int | None, high: int | None
) -> None:
    said = read_phrases(typed, currency)

    assert (said.query, said.min_price, said.max_price) == (query, low, high)
    assert said.asks


@pytest.mark.parametrize(
    ("typed", "currency"),
    [
        ("iphone 15", "USD"),  # a number alone is a product's
        ("iphone 14-15", "USD"),
        ("iphone pro max 256", "USD"),
        ("10 руб", "RUB"),  # an amount with no limit word: no limit
        ("under 10.505", "USD"),  # more decimals than the dollar has
        ("до 500 ₽", "USD"),  # roubles in a shop selling in dollars: nothing is converted
        ("under $10", "RUB"),
        ("under 99999999999999999", "USD"),
        ("over-ear headphones 300", "USD"),
    ],
)
def test_numbers_that_are_no_price_limit_stay_words_to_search(typed: str, currency: str) -> None:
    said = read_phrases(typed, currency)

    assert said.query == typed
    assert not said.asks
    assert said.applied_to(Filters()) == Filters()


@pytest.mark.parametrize(
    ("typed", "sort"),
    [
        ("cheapest first", Sort.PRICE_UP),
        ("Cheapest", Sort.PRICE_UP),
        ("дешевле", Sort.PRICE_UP),
        ("сначала дешёвые", Sort.PRICE_UP),
        ("сначала дешевые", Sort.PRICE_UP),
        ("expensive first", Sort.PRICE_DOWN),
        ("сначала дорогие", Sort.PRICE_DOWN),
        ("newest", Sort.NEWEST),
        ("новинки", Sort.NEWEST),
        ("best match", Sort.RELEVANCE),
    ],
)
def test_an_order_is_read_in_either_language(typed: str, sort: Sort) -> None:
    said = read_phrases(typed, "USD")

    assert (said.query, said.sort) == ("", sort)


@pytest.mark.parametrize("typed", ["in stock", "In stock only", "в наличии", "только в наличии"])
def test_in_stock_is_read_in_either_language(typed: str) -> None:
    said = read_phrases(typed, "RUB")

    assert (said.query, said.in_stock) == ("", True)


def test_several_phrases_and_words_to_search_come_apart() -> None:
    said = read_phrases("green tea under $5 in stock cheapest first", "USD")

    assert said.query == "green tea"
    assert (said.max_price, said.in_stock, said.sort) == (500, True, Sort.PRICE_UP)
    assert said.said == ("under $5", "in stock", "cheapest first")


def test_a_value_the_list_holds_filters_by_its_attribute() -> None:
    known = {"brand": ["Bosch", "Black & Decker"], "color": ["red"]}

    said = read_phrases("drill black & decker", "USD", known)
    alone = read_phrases("Bosch", "USD", known)
    unknown = read_phrases("makita drill", "USD", known)

    assert (said.query, said.attrs) == ("drill", (("brand", "Black & Decker"),))
    assert (alone.query, alone.attrs) == ("", (("brand", "Bosch"),))
    assert alone.said == ()  # an attribute is no fixed phrase: it names products on purpose
    assert (unknown.query, unknown.attrs) == ("makita drill", ())
    assert read_phrases("bosches", "USD", known).attrs == ()  # whole words only


def test_what_was_said_changes_only_its_own_part_of_the_filters() -> None:
    before = Filters(category_id=3, min_price=100, in_stock=True, attrs=(("brand", "Illy"),))

    sorted_ = read_phrases("newest", "USD").applied_to(before)
    capped = read_phrases("under 0.50", "USD").applied_to(before)
    raised = read_phrases("over 2", "USD").applied_to(Filters(max_price=100))

    assert sorted_ == Filters(3, 100, None, True, (("brand", "Illy"),), Sort.NEWEST)
    assert (capped.min_price, capped.max_price) == (None, 50)  # "under 0.50" after "from 1"
    assert (raised.min_price, raised.max_price) == (200, None)


@pytest.mark.parametrize(
    ("low", "high", "currency", "bands"),
    [
        (300, 2_143, "USD", [(None, 500), (500, 1_000), (1_000, 1_500), (1_500, None)]),
        (
            10_000,
            90_000,
            "RUB",
            [(None, 20_000), (20_000, 40_000), (40_000, 60_000), (60_000, None)],
        ),
        (500, 900, "USD", [(None, 600), (600, 700), (700, 800), (800, None)]),
        (1_000, 1_000, "USD", []),
        (12, 95, "JPY", [(None, 20), (20, 40), (40, 60), (60, None)]),
    ],
)
def test_price_bands_fall_on_round_amounts_across_the_prices(
    low: int, high: int, currency: str, bands: list[tuple[int | None, int | None]]
) -> None:
    assert price_bands(low, high, currency) == bands
