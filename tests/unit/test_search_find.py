"""SearchIndex.find: filters inside the index, paging with a total, sorts, shelves and facets."""

from __future__ import annotations

import pytest

from shop.filters import Filters, Sort
from shop.search_index import NO_FILTERS, SearchDoc, SearchIndex

COFFEE, TEA, PHONES = 10, 20, 30


def doc(
    product_id: int,
    title: str,
    *,
    price: int,
    category: int | None = COFFEE,
    in_stock: bool = True,
    sold: int = 0,
    brand: str | None = None,
    colour: str | None = None,
    order: int | None = None,
    created: float = 0.0,
) -> SearchDoc:
    attrs = {name: value for name, value in (("brand", brand), ("colour", colour)) if value}
    return SearchDoc(
        product_id,
        f"SKU-{product_id}",
        title,
        price=price,
        category_id=category,
        in_stock=in_stock,
        sold=sold,
        attrs=attrs,
        sort_order=order,
        created=created,
    )


CATALOG = [
    doc(1, "Lavazza Oro coffee beans 1 kg", price=1_890, sold=90, brand="Lavazza", created=5),
    doc(2, "Lavazza Crema coffee beans 500 g", price=990, sold=40, brand="Lavazza", created=8),
    doc(3, "Illy Classico ground coffee 250 g", price=850, sold=70, brand="Illy", created=3),
    doc(4, "Jacobs Monarch ground coffee 230 g", price=450, sold=10, brand="Jacobs",
        in_stock=False, created=9),
    doc(5, "Jacobs Monarch instant coffee 95 g", price=650, sold=300, brand="Jacobs", created=1),
    doc(6, "Ahmad Earl Grey tea 100 bags", price=520, category=TEA, sold=50, brand="Ahmad",
        order=2),
    doc(7, "Greenfield Green Melissa tea 25 bags", price=310, category=TEA, sold=5,
        brand="Greenfield", order=1),
    doc(8, "Ahmad English Breakfast tea 25 bags", price=290, category=TEA, sold=80,
        brand="Ahmad"),
    doc(9, "Ahmad Jasmine green tea 25 bags", price=330, category=TEA, sold=80, brand="Ahmad"),
    doc(10, "Tess Lime Mint tea 20 bags", price=199, category=TEA, in_stock=False, sold=900,
        brand="Tess", order=0),
    doc(11, "Apple iPhone 15 128GB black", price=79_900, category=PHONES, brand="Apple",
        colour="black"),
    doc(12, "Apple iPhone 15 128GB pink", price=79_900, category=PHONES, brand="Apple",
        colour="pink"),
    doc(13, "Samsung Galaxy S24 256GB black", price=89_900, category=PHONES, brand="Samsung",
        colour="black"),
]  # fmt: skip


@pytest.fixture
def index() -> SearchIndex:
    return SearchIndex.build(CATALOG)


def ids(
    index: SearchIndex, query: str, filters: Filters = NO_FILTERS, *, limit: int = 10
) -> list[int]:
    return [hit.product.product_id for hit in index.find(query, filters, limit=limit).hits]


def test_an_empty_query_lists_a_shelf_in_the_shops_order(index: SearchIndex) -> None:
    # In stock first; then the owner's order (none last); then best sellers; then title.
    assert ids(index, "", Filters(category_id=TEA)) == [7, 6, 8, 9, 10]
    result = index.find("", Filters(category_id=TEA))
    assert result.total == 5
    assert result.did_you_mean == []


def test_every_product_without_a_query_or_category(index: SearchIndex) -> None:
    result = index.find("", limit=100)
    assert result.total == len(CATALOG)
    assert sorted(hit.product.product_id for hit in result.hits) == list(range(1, 14))
    # Out of stock products close the list, in the owner's order too.
    assert [hit.product.product_id for hit in result.hits][-2:] == [10, 4]


def test_results_are_the_products_holding_every_word(index: SearchIndex) -> None:
    result = index.find("ground coffee", limit=100)
    assert result.total == 2
    assert sorted(ids(index, "ground coffee")) == [3, 4]


def test_when_no_product_holds_every_word_the_best_partial_match_is_shown(
    index: SearchIndex,
) -> None:
    # No product is both "lavazza" and "instant": the products holding two of the
    # three words are the results, and a product holding one is not.
    result = index.find("lavazza instant coffee", limit=100)
    assert result.total == 3
    assert sorted(ids(index, "lavazza instant coffee")) == [1, 2, 5]


def test_a_price_cap_and_in_stock_narrow_the_results(index: SearchIndex) -> None:
    under_10 = Filters(max_price=1_000)
    assert sorted(ids(index, "coffee", under_10)) == [2, 3, 4, 5]
    assert index.find("coffee", under_10).total == 4
    in_stock = Filters(max_price=1_000, in_stock=True)
    assert sorted(ids(index, "coffee", in_stock)) == [2, 3, 5]
    assert sorted(ids(index, "coffee", Filters(min_price=900, max_price=1_890))) == [1, 2]
    assert index.find("coffee", Filters(max_price=100)).hits == []
    assert index.find("coffee", Filters(max_price=100)).total == 0


def test_a_category_filter_applies_to_a_query(index: SearchIndex) -> None:
    assert sorted(ids(index, "25 bags", Filters(category_id=TEA))) == [7, 8, 9]
    assert ids(index, "black", Filters(category_id=COFFEE)) == []


def test_sorts_by_price_both_ways_and_newest(index: SearchIndex) -> None:
    coffee = "coffee"
    assert ids(index, coffee, Filters(sort=Sort.PRICE_UP)) == [4, 5, 3, 2, 1]
    assert ids(index, coffee, Filters(sort=Sort.PRICE_DOWN)) == [1, 2, 3, 5, 4]
    assert ids(index, coffee, Filters(sort=Sort.NEWEST)) == [4, 2, 1, 3, 5]
    # A shelf sorts alike; equal prices keep the shelf's order (best seller, then title).
    phones = Filters(category_id=PHONES, sort=Sort.PRICE_UP)
    assert ids(index, "", phones) == [11, 12, 13]


def test_relevance_puts_in_stock_best_sellers_first_among_equal_matches(
    index: SearchIndex,
) -> None:
    assert ids(index, "jacobs monarch") == [5, 4]


def test_pages_cover_every_result_once_with_the_same_total(index: SearchIndex) -> None:
    for query, filters in (
        ("", Filters()),
        ("tea", Filters()),
        ("", Filters(sort=Sort.PRICE_DOWN)),
        ("coffee", Filters(sort=Sort.NEWEST)),
    ):
        whole = index.find(query, filters, limit=100)
        paged: list[int] = []
        for offset in range(0, whole.total + 3, 3):
            page = index.find(query, filters, offset=offset, limit=3)
            assert page.total == whole.total
            paged += [hit.product.product_id for hit in page.hits]
        assert paged == [hit.product.product_id for hit in whole.hits], (query, filters)
    assert index.find("tea", offset=50).hits == []
    assert index.find("tea", offset=50).total == 5


def test_facets_count_values_among_the_results(index: SearchIndex) -> None:
    facets = index.find("tea").facets
    assert facets["brand"] == [("Ahmad", 3), ("Greenfield", 1), ("Tess", 1)]
    assert "colour" not in facets  # no tea has a colour
    phones = index.find("", Filters(category_id=PHONES)).facets
    assert phones["colour"] == [("black", 2), ("pink", 1)]


def test_an_attribute_filter_keeps_its_own_facet_open_to_other_values(
    index: SearchIndex,
) -> None:
    apple = Filters(category_id=PHONES, attrs=(("brand", "Apple"),))
    result = index.find("", apple)
    assert sorted(hit.product.product_id for hit in result.hits) == [11, 12]
    assert result.total == 2
    # The brand facet still offers Samsung; the colour facet counts Apple phones only.
    assert result.facets["brand"] == [("Apple", 2), ("Samsung", 1)]
    assert result.facets["colour"] == [("black", 1), ("pink", 1)]
    black_apple = apple.with_attr("colour", "black")
    assert ids(index, "", black_apple) == [11]
    assert index.find("", black_apple).facets["brand"] == [("Apple", 1), ("Samsung", 1)]
    assert index.find("", apple.with_attr("brand", "Nokia")).total == 0
    assert index.find("", apple.with_attr("size", "XL")).hits == []


def test_a_sku_names_its_product_within_the_filters(index: SearchIndex) -> None:
    assert ids(index, "SKU-12")[0] == 12
    assert index.find("SKU-12").hits[0].score == 1.0
    assert ids(index, "sku-12", Filters(category_id=COFFEE)) == []


def test_a_new_price_or_stock_is_seen_by_the_next_filter(index: SearchIndex) -> None:
    cheap = Filters(max_price=1_000, in_stock=True)
    assert 1 not in ids(index, "coffee", cheap)
    index.upsert([doc(1, CATALOG[0].title, price=900, sold=90, brand="Lavazza", created=5)])
    assert 1 in ids(index, "coffee", cheap)
    index.upsert([doc(3, CATALOG[2].title, price=850, in_stock=False, brand="Illy")])
    assert 3 not in ids(index, "coffee", cheap)
    index.upsert([doc(7, CATALOG[6].title, price=310, category=COFFEE, brand="Greenfield")])
    assert 7 not in ids(index, "", Filters(category_id=TEA))
    assert index.find("", Filters(category_id=TEA)).facets["brand"][0] == ("Ahmad", 3)


def test_added_renamed_and_removed_products_follow_into_shelves(index: SearchIndex) -> None:
    index.upsert([doc(20, "Kimbo Espresso coffee beans 1 kg", price=700, sold=1_000,
                      brand="Kimbo", order=0)])  # fmt: skip
    index.upsert([doc(2, "Lavazza Tierra coffee beans 500 g", price=990, brand="Lavazza")])
    index.remove([5])
    shelf = ids(index, "", Filters(category_id=COFFEE), limit=100)
    assert shelf == [20, 1, 3, 2, 4]
    assert sorted(ids(index, "coffee", Filters(max_price=1_000))) == [2, 3, 4, 20]
    assert index.find("", Filters(attrs=(("brand", "Kimbo"),))).total == 1
    # Skus still name the products: the renamed one as it is now, none for the removed one.
    assert index.find("SKU-2").hits[0].product.title == "Lavazza Tierra coffee beans 500 g"
    assert index.find("SKU-20").hits[0].product.product_id == 20
    assert all(hit.score < 1 for hit in index.find("SKU-5").hits)
    index.remove([2])
    assert all(hit.product.product_id != 2 for hit in index.find("SKU-2").hits)
    index.upsert([doc(2, "Lavazza Tierra coffee beans 500 g", price=990, brand="Lavazza")])
    compacted = index.compact()
    assert ids(compacted, "", Filters(category_id=COFFEE), limit=100) == shelf
    assert ids(compacted, "coffee", Filters(sort=Sort.PRICE_UP)) == ids(
        index, "coffee", Filters(sort=Sort.PRICE_UP)
    )


def test_a_shelf_breaks_ties_by_title_for_products_added_later() -> None:
    index = SearchIndex.build([doc(1, "Bravo", price=1), doc(2, "Delta", price=1)])
    assert ids(index, "") == [1, 2]
    index.upsert([doc(3, "Charlie", price=1), doc(4, "Alpha", price=1)])
    assert ids(index, "") == [4, 1, 3, 2]


def test_an_empty_catalog_and_forged_filters_find_nothing_without_error() -> None:
    empty = SearchIndex.build([])
    assert empty.find("").hits == []
    assert empty.find("coffee").total == 0
    index = SearchIndex.build(CATALOG)
    huge = Filters(category_id=2**80, min_price=-(2**90), max_price=2**90)
    assert index.find("", huge).total == 0
    assert index.find("coffee", Filters(min_price=-(2**90), max_price=2**90)).total == 5
    assert len(index.find("", offset=-5, limit=10**9).hits) == len(CATALOG)


def test_a_sort_by_price_lists_the_products_named_before_those_found_by_their_shelf() -> None:
    shelf = [
        SearchDoc(1, "S-1", "Lavazza Oro coffee beans", categories=("Coffee & Tea",), price=790),
        SearchDoc(2, "S-2", "Greenfield black tea", categories=("Coffee & Tea",), price=249),
        SearchDoc(3, "S-3", "Jacobs instant coffee", categories=("Coffee & Tea",), price=599),
        SearchDoc(4, "S-4", "Ahmad green tea", categories=("Coffee & Tea",), price=349),
    ]
    index = SearchIndex.build(shelf)

    cheapest = index.find("coffee", Filters(sort=Sort.PRICE_UP))
    dearest = index.find("coffee", Filters(sort=Sort.PRICE_DOWN))

    # The teas match "coffee" only by their shelf's name: listed, but after the coffees.
    assert [hit.product.product_id for hit in cheapest.hits] == [3, 1, 2, 4]
    assert [hit.product.product_id for hit in dearest.hits] == [1, 3, 4, 2]
