"""Often bought together: suggestions from a hand-built history of paid orders, counted once."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from bot.services import Shop
from shop import tables as t
from tests.together_support import buy_history, place, product_id, stock_kitchen_and_books


async def suggested(
    shop: Shop, skus: Sequence[str], exclude: Sequence[str] = ()
) -> list[tuple[str, bool]]:
    """Return what is suggested with `skus` (never `exclude`): each sku, and whether bought together."""
    ids = [await product_id(shop, sku) for sku in skus]
    left_out = [await product_id(shop, sku) for sku in exclude]
    found = await shop.together.suggest(ids, left_out)
    return [(s.product.sku, s.together) for s in found]


async def pairs(shop: Shop) -> list[tuple[int, int, int]]:
    """Return every pair count kept."""
    tp = t.together_pair.c
    query = select(tp.product_id, tp.other_id, tp.orders).order_by(tp.product_id, tp.other_id)
    rows = await shop.db.read(lambda conn: conn.execute(query).all())
    return [tuple(r) for r in rows]


async def test_a_card_offers_what_paid_orders_bought_with_it_on_sale_ties_to_the_newer(
    shop: Shop,
) -> None:
    await stock_kitchen_and_books(shop)
    await buy_history(shop)
    await shop.together.fold()

    # Lemon and jam (3 orders each) are sold out and off sale; tea and the cup tie at 2,
    # the spoon and honey at 1 (honey's refunded and unpaid orders do not count).
    assert await suggested(shop, ["KETTLE"], ["KETTLE"]) == [
        ("CUP", True),
        ("TEA", True),
        ("SPOON", True),
    ]


async def test_too_little_history_is_topped_up_with_the_category_s_best_sellers(
    shop: Shop,
) -> None:
    await stock_kitchen_and_books(shop)
    await buy_history(shop)
    await shop.together.fold()

    # Tea was bought with the kettle twice and the cup once; then the kitchen's best
    # seller not yet offered and on sale: the spoon and honey sold one each, the newer first.
    assert await suggested(shop, ["TEA"], ["TEA"]) == [
        ("KETTLE", True),
        ("CUP", True),
        ("SPOON", False),
    ]
    # No book was bought with another: the books sold most (the novel twice, the atlas once).
    assert await suggested(shop, ["BOOK"], ["BOOK"]) == [("NOVEL", False), ("ATLAS", False)]


async def test_a_cart_is_offered_what_was_bought_with_all_it_holds_but_not_what_it_holds(
    shop: Shop,
) -> None:
    await stock_kitchen_and_books(shop)
    await buy_history(shop)
    await shop.together.fold()

    # The cup: twice with the kettle and once with tea; the spoon and honey once each.
    assert await suggested(shop, ["KETTLE", "TEA"], ["KETTLE", "TEA"]) == [
        ("CUP", True),
        ("SPOON", True),
        ("HONEY", True),
    ]


async def test_each_order_counts_once_however_often_it_is_folded_and_after_a_rebuild(
    shop: Shop,
) -> None:
    await stock_kitchen_and_books(shop)
    await buy_history(shop)
    await shop.together.fold()
    counted = await pairs(shop)
    kettle, tea = await product_id(shop, "KETTLE"), await product_id(shop, "TEA")
    assert (kettle, tea, 2) in counted
    assert (tea, kettle, 2) in counted

    await shop.together.fold()
    assert await pairs(shop) == counted
    await shop.together.rebuild()
    assert await pairs(shop) == counted


async def test_orders_paid_since_the_last_fold_wait_for_the_next(shop: Shop) -> None:
    await stock_kitchen_and_books(shop)
    await place(shop, "ann", ["BOOK", "ATLAS"])
    assert await suggested(shop, ["BOOK"], ["BOOK"]) == []  # nothing counted yet

    await shop.together.fold()
    assert await suggested(shop, ["BOOK"], ["BOOK"]) == [("ATLAS", True)]
    await place(shop, "bob", ["BOOK", "NOVEL"])
    await place(shop, "cid", ["BOOK", "NOVEL"])
    await place(shop, "dan", ["NOVEL"])
    assert await suggested(shop, ["BOOK"], ["BOOK"]) == [("ATLAS", True)]
    await shop.together.fold()
    assert await suggested(shop, ["BOOK"], ["BOOK"]) == [("NOVEL", True), ("ATLAS", True)]
    # The novel, now the books' best seller, tops up the atlas's one pair.
    assert await suggested(shop, ["ATLAS"], ["ATLAS"]) == [("BOOK", True), ("NOVEL", False)]


async def test_a_product_never_sold_with_nothing_sold_beside_it_has_no_suggestions(
    shop: Shop,
) -> None:
    await stock_kitchen_and_books(shop)
    await shop.together.fold()
    assert await suggested(shop, ["BOOK"], ["BOOK"]) == []
    assert await shop.together.suggest([]) == []
