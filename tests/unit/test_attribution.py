"""Attribution: a scan's source sticks to the customer as first touch and to every event of the visit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection

from bot.services import Shop
from shop import tables as t
from shop.analytics import EventKind, Visit
from shop.attribution import SourceFigures
from shop.deeplink import Scan, Target, TargetKind
from shop.errors import NotFoundError, ProductUnavailableError, PromoRejectedError
from shop.models import Channel, OrderStatus, PromoKind
from tests.conftest import FakeClock, row
from tests.flow_support import scan


async def _events(
    shop: Shop, customer_id: int | None = None, *kinds: EventKind
) -> list[tuple[str, str | None]]:
    """Return (kind, source) of the customer's events (of `kinds`, if given), oldest first."""
    e = t.analytics_event.c
    query = select(e.kind, e.source).order_by(e.id)
    if customer_id is not None:
        query = query.where(e.customer_id == customer_id)
    if kinds:
        query = query.where(e.kind.in_([kind.value for kind in kinds]))

    def work(conn: Connection) -> list[tuple[str, str | None]]:
        return [(kind, source) for kind, source in conn.execute(query)]

    return await shop.db.read(work)


async def _buy(shop: Shop, visit: Visit, sku: str, quantity: int = 1) -> int:
    """View, add to cart, check out and pay within a visit, as the flows record it."""
    assert visit.customer_id is not None
    product = await shop.catalog.product_by_sku(sku)
    assert product is not None
    await shop.analytics.record(EventKind.VIEW, visit, product_id=product.id)
    await shop.carts.add(visit.customer_id, product.id, quantity)
    await shop.analytics.record(EventKind.ADD_TO_CART, visit, product_id=product.id)
    order = await shop.orders.checkout(
        visit.customer_id, channel=visit.channel or "", source=visit.source
    )
    await shop.orders.confirm_payment(order.id)
    return order.id


async def test_a_scan_is_the_first_touch_and_later_scans_never_overwrite_it(
    any_shop: Shop,
) -> None:
    shop = any_shop
    await shop.catalog.import_rows([row("TEA-1", price=450)])
    poster = await shop.attribution.code_for(Target.product("TEA-1"), "poster-a")
    window = await shop.attribution.code_for(Target.shop(), "window-b")

    first, opened = await scan(shop, Channel.TELEGRAM, "1", poster, name="Ann")
    again, greeted = await scan(shop, Channel.TELEGRAM, "1", window)

    assert "Product TEA-1" in opened
    assert first == Visit(first.customer_id, "telegram", "poster-a")
    assert "Welcome to the shop" in greeted
    assert again == Visit(first.customer_id, "telegram", "window-b")  # this visit's source
    customer = await shop.customers.get(first.customer_id or 0)
    assert customer.first_source == "poster-a"
    assert customer.display_name == "Ann"
    assert await _events(shop, customer.id, EventKind.START, EventKind.SOURCE) == [
        ("start", "poster-a"),
        ("source", "poster-a"),
        ("start", "window-b"),
        ("source", "window-b"),
    ]


async def test_every_event_of_the_visit_carries_the_source(any_shop: Shop) -> None:
    shop = any_shop
    await shop.catalog.import_rows([row("TEA-1", price=450)])
    code = await shop.attribution.code_for(Target.product("TEA-1"), "poster-a")

    visit, _ = await scan(shop, Channel.WHATSAPP, "+15550100", code)
    order_id = await _buy(shop, visit, "TEA-1", 2)

    events = await _events(shop, visit.customer_id)
    assert [kind for kind, _ in events] == [
        "start",
        "source",
        "view",
        "view",
        "add_to_cart",
        "checkout",
        "paid",
    ]  # fmt: skip  (the card the code opened is a view too)
    assert {source for _, source in events} == {"poster-a"}
    order = await shop.orders.get(order_id)
    assert order.order.source == "poster-a"


@pytest.mark.parametrize("payload", [None, "", "hello", "p-TEA-1_poster-a_XXXX", "r-AAAAAAAA"])
async def test_a_damaged_or_missing_code_opens_the_main_menu_and_credits_no_one(
    any_shop: Shop, payload: str | None
) -> None:
    visit, answer = await scan(any_shop, Channel.TELEGRAM, "7", payload)

    assert "the whole shop" in answer or "Welcome to the shop" in answer
    assert visit.source is None
    customer = await any_shop.customers.get(visit.customer_id or 0)
    assert customer.first_source is None
    assert await _events(any_shop, visit.customer_id) == [("start", None)]


async def test_a_plain_start_after_a_scan_is_a_visit_of_its_own_and_keeps_the_first_touch(
    shop: Shop,
) -> None:
    code = await shop.attribution.code_for(Target.shop(), "entrance")
    await scan(shop, Channel.TELEGRAM, "1", code)
    later, _ = await scan(shop, Channel.TELEGRAM, "1", None)
    assert later.source is None
    customer = await shop.customers.get(later.customer_id or 0)
    assert customer.first_source == "entrance"


async def test_registered_codes_round_trip_through_the_database(any_shop: Shop) -> None:
    long_sku = "APL-IP16P-256-NTI-EXTRA-LONG-SKU-FOR-THE-SHELF-2026"
    await any_shop.catalog.import_rows([row(long_sku, category="Чай и кофе")])
    attribution = any_shop.attribution
    for target, source in [
        (Target.product(long_sku), "tverskaya-window"),
        (Target.category("Чай и кофе"), "витрина"),
        (Target.promo("SUMMER10"), "a source name far too long to spell inside a payload, 64 max"),
    ]:
        code = await attribution.code_for(target, source)
        assert code.startswith("r-")
        assert len(code) == 10
        assert await attribution.code_for(target, source) == code
        assert await attribution.decode(code) == Scan(target, source)
        visit, _ = await scan(any_shop, Channel.TELEGRAM, f"{code}", code)
        assert visit.source == source


async def test_destination_checks_the_target_and_names_categories_canonically(shop: Shop) -> None:
    await shop.catalog.import_rows(
        [row("TEA-1", category="Tea", categories={"ru": "Чай"}), row("OLD-1")]
    )
    await shop.catalog.set_active("OLD-1", False)
    await shop.promos.create("SUMMER10", PromoKind.PERCENT, 10)
    await shop.promos.create("GONE", PromoKind.PERCENT, 10)
    await shop.promos.deactivate("GONE")

    found = await shop.attribution.destination(Target.category("чай"))
    assert found.target == Target.category("Tea")
    product = await shop.attribution.destination(Target.product("TEA-1"))
    assert product.product is not None
    assert product.product.sku == "TEA-1"
    promo = await shop.attribution.destination(Target.promo("summer10"))
    assert promo.promo is not None
    assert (await shop.attribution.destination(Target.shop())).target.kind is TargetKind.SHOP
    with pytest.raises(NotFoundError):
        await shop.attribution.destination(Target.product("NOPE"))
    with pytest.raises(NotFoundError):
        await shop.attribution.destination(Target.category("Coffee"))
    with pytest.raises(ProductUnavailableError):
        await shop.attribution.destination(Target.product("OLD-1"))
    with pytest.raises(PromoRejectedError):
        await shop.attribution.destination(Target.promo("GONE"))


async def test_the_report_matches_a_hand_computed_fixture(any_shop: Shop, clock: FakeClock) -> None:
    shop = any_shop
    await shop.catalog.import_rows(
        [row("TEA-1", price=450, stock=100), row("MUG-1", price=700, currency="EUR")]
    )
    attribution = shop.attribution
    poster_a = await attribution.code_for(Target.product("TEA-1"), "poster-a")
    window_b = await attribution.code_for(Target.category("Things"), "window-b")
    start = clock.now

    # 40 days ago, outside the 30-day window: Dan scans window-b.
    clock.now = start - timedelta(days=40)
    await scan(shop, Channel.TELEGRAM, "dan", window_b)
    clock.now = start

    # poster-a: Ann scans twice and buys 2 x TEA-1 ($9.00); Bob scans and only fills a cart.
    ann, _ = await scan(shop, Channel.TELEGRAM, "ann", poster_a)
    await _buy(shop, ann, "TEA-1", 2)
    await scan(shop, Channel.TELEGRAM, "ann", poster_a)
    bob, _ = await scan(shop, Channel.WHATSAPP, "bob", poster_a)
    assert bob.customer_id is not None
    await shop.carts.add(bob.customer_id, (await _id(shop, "TEA-1")), 1)
    await shop.analytics.record(EventKind.ADD_TO_CART, bob)

    # window-b: Cat buys a mug (€7.00) and is refunded; Fay buys a tea ($4.50).
    cat, _ = await scan(shop, Channel.TELEGRAM, "cat", window_b)
    refunded = await _buy(shop, cat, "MUG-1")
    await shop.orders.transition(refunded, OrderStatus.REFUNDED)
    fay, _ = await scan(shop, Channel.TELEGRAM, "fay", window_b)
    await _buy(shop, fay, "TEA-1")

    # Eve's code is damaged: she counts for no source.
    eve, _ = await scan(shop, Channel.TELEGRAM, "eve", poster_a[:-1])
    await shop.analytics.record(EventKind.ADD_TO_CART, eve)

    clock.advance(hours=1)
    assert await attribution.report(clock.now - timedelta(days=30)) == [
        SourceFigures(
            "poster-a", scans=3, customers=2, carts=2, orders=1, buyers=1, revenue={"USD": 900}
        ),
        SourceFigures(
            "window-b", scans=2, customers=2, carts=2, orders=2, buyers=2, revenue={"USD": 450}
        ),
    ]
    # In all time Dan's old scan counts too: a tie on scans is listed by name.
    poster, window = await attribution.report()
    assert (poster.source, poster.scans, poster.conversion) == ("poster-a", 3, 0.5)
    assert (window.source, window.scans, window.customers, window.buyers) == ("window-b", 3, 3, 2)
    assert window.conversion == pytest.approx(2 / 3)


async def _id(shop: Shop, sku: str) -> int:
    product = await shop.catalog.product_by_sku(sku)
    assert product is not None
    return product.id
