"""Customers, the catalog service, money formatting and the analytics log."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from shop import tables as t
from shop.analytics import EventKind, Visit
from shop.errors import NotFoundError
from shop.filters import Filters
from shop.migrate import upgrade
from shop.models import Channel
from shop.money import Money, MoneyError, format_money, parse_major
from shop.views import CustomerView
from tests.conftest import FakeClock, row


async def test_one_identity_per_channel_and_first_touch_is_kept(
    shop: Shop, clock: FakeClock
) -> None:
    first = await shop.customers.touch(
        Channel.TELEGRAM, "42", display_name="Ann", source="poster-a"
    )
    clock.advance(hours=3)
    again = await shop.customers.touch(Channel.TELEGRAM, "42", source="poster-b")
    whatsapp = await shop.customers.touch(Channel.WHATSAPP, "+15550100", source="poster-b")

    assert again.id == first.id
    assert again.first_source == "poster-a"
    assert again.display_name == "Ann"
    assert again.last_inbound_at == clock.now
    assert whatsapp.id != first.id
    assert whatsapp.first_source == "poster-b"


async def test_last_message_time_is_kept_to_the_minute(shop: Shop, clock: FakeClock) -> None:
    first = await shop.customers.touch(Channel.TELEGRAM, "42", display_name="Ann")
    clock.advance(seconds=30)
    soon = await shop.customers.touch(Channel.TELEGRAM, "42", display_name="Ann")
    assert soon.last_inbound_at == first.last_inbound_at  # read, not written again
    renamed = await shop.customers.touch(Channel.TELEGRAM, "42", display_name="Anna")
    assert (renamed.display_name, renamed.last_inbound_at) == ("Anna", clock.now)
    clock.advance(seconds=61)
    later = await shop.customers.touch(Channel.TELEGRAM, "42")
    assert later.last_inbound_at == clock.now
    assert (await shop.customers.get(first.id)).last_inbound_at == clock.now


async def test_a_customer_kept_in_memory_follows_the_shops_own_changes(
    shop: Shop, clock: FakeClock
) -> None:
    ann = await shop.customers.touch(Channel.TELEGRAM, "7", display_name="Ann")
    await shop.customers.set_locale(ann.id, "ru")
    assert (await shop.customers.touch(Channel.TELEGRAM, "7", display_name="Ann")).locale == "ru"


async def test_workers_sharing_redis_see_each_others_changes_at_once(
    sqlite_url: str, clock: FakeClock
) -> None:
    settings = Settings(database_url=sqlite_url, redis_url="redis://127.0.0.1:6379/15")
    one, other = build_shop(settings, clock=clock), build_shop(settings, clock=clock)
    try:
        await upgrade(one.db)
        ann = await one.customers.touch(Channel.TELEGRAM, "7", display_name="Ann")
        await other.customers.set_locale(ann.id, "ru")
        assert (await one.customers.touch(Channel.TELEGRAM, "7", display_name="Ann")).locale == "ru"
    finally:
        await one.db.dispose()
        await other.db.dispose()


def test_customer_view_fields_are_the_table_columns() -> None:
    # CustomerView.from_row takes the columns by name; a new column must be a new field.
    assert [f.name for f in fields(CustomerView)] == list(t.customer.c.keys())


async def test_whatsapp_session_window_is_24_hours(shop: Shop, clock: FakeClock) -> None:
    customer = await shop.customers.touch(Channel.WHATSAPP, "+15550100")
    clock.advance(hours=23, minutes=59)
    assert shop.customers.can_message_freely(customer)
    clock.advance(minutes=2)
    assert not shop.customers.can_message_freely(customer)


async def test_locale_consent_and_contact_are_remembered(shop: Shop, clock: FakeClock) -> None:
    customer = await shop.customers.touch(Channel.TELEGRAM, "7")
    assert customer.id is not None
    await shop.customers.set_locale(customer.id, "ru")
    await shop.customers.set_marketing_consent(customer.id, True)
    await shop.customers.save_contact(customer.id, name="Иван", phone="+79990000000", address=None)
    stored = await shop.customers.get(customer.id)
    assert (stored.locale, stored.marketing_consent, stored.consent_at) == ("ru", True, clock.now)
    assert stored.contact_name == "Иван"
    with pytest.raises(NotFoundError):
        await shop.customers.set_locale(999, "en")


async def test_import_creates_then_updates_by_sku(shop: Shop) -> None:
    first = await shop.catalog.import_rows(
        [row("A", titles={"ru": "Чай"}, categories={"ru": "Вещи"}), row("B")]
    )
    assert (first.created, first.updated, first.categories) == (2, 0, 1)
    second = await shop.catalog.import_rows([row("A", price=1_500, category="Tea"), row("C")])
    assert (second.created, second.updated) == (1, 1)

    a = await shop.catalog.product_by_sku("A")
    assert a is not None
    assert (a.price, a.title_for("ru"), a.title_for("en")) == (1_500, "Product A", "Product A")
    categories = {s.category.name: s.products for s in await shop.catalog.categories()}
    assert categories == {"Things": 2, "Tea": 1}
    things = next(
        s.category for s in await shop.catalog.categories() if s.category.name == "Things"
    )
    assert things.name_for("ru") == "Вещи"


async def test_a_shelf_lists_in_stock_first_through_the_search_index(shop: Shop) -> None:
    await shop.catalog.import_rows(
        [row(f"P{n}", title=f"Item {n}", stock=0 if n == 0 else 5) for n in range(7)]
    )
    category = (await shop.catalog.categories())[0].category
    assert category.id is not None
    assert await shop.catalog.category(category.id) == category
    assert await shop.catalog.category(category.id + 1) is None
    shelf = Filters(category_id=category.id)
    first = await shop.search.find("", shelf, offset=0, limit=3)
    last = await shop.search.find("", shelf, offset=6, limit=3)
    assert first.total == 7
    assert [h.product.sku for h in last.hits] == ["P0"]  # out of stock goes last
    assert [h.product.sku for h in first.hits] == ["P1", "P2", "P3"]


async def test_every_catalog_change_moves_the_revision_on(shop: Shop) -> None:
    # Search follows the catalog by its revision (tests/unit/test_search.py).
    assert await shop.catalog.revision() == 0
    await shop.catalog.import_rows([row("A"), row("B")])
    seen = [await shop.catalog.revision()]
    await shop.catalog.set_price("B", 5)
    seen.append(await shop.catalog.revision())
    await shop.catalog.set_active("A", False)
    seen.append(await shop.catalog.revision())
    assert seen == sorted(set(seen))  # each change a new, higher revision
    assert seen[0] > 0
    assert await shop.catalog.count() == 1


async def test_an_import_takes_products_off_sale_and_back_by_their_active_flag(
    shop: Shop,
) -> None:
    await shop.catalog.import_rows([row("A"), row("B", active=False)])
    assert [p.sku for p in await shop.catalog.all_products()] == ["A"]

    await shop.catalog.import_rows([row("A", active=False), row("B")])

    assert [p.sku for p in await shop.catalog.all_products()] == ["B"]
    assert [r.sku for r in await shop.catalog.export_rows()] == ["B"]


async def test_staff_changes_are_checked(shop: Shop) -> None:
    await shop.catalog.import_rows([row("A")])
    with pytest.raises(ValueError, match="negative"):
        await shop.catalog.set_stock("A", -1)
    with pytest.raises(NotFoundError):
        await shop.catalog.set_price("NOPE", 100)


async def test_export_reads_back_to_the_same_catalog(shop: Shop, clock: FakeClock) -> None:
    rows = [
        row("A", titles={"ru": "Кофе"}, descriptions={"ru": "Зёрна"}, categories={"ru": "Вещи"}),
        row("B", digital=True, image_url="https://example.com/b.jpg", price=0),
        row(
            "C",
            image_url="https://example.com/c1.jpg",
            image_urls=("https://example.com/c1.jpg", "https://example.com/c2.jpg"),
            attrs={"brand": "Acme", "colour": "red"},
            sort_order=-2,
            created=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        ),
    ]
    await shop.catalog.import_rows(rows)
    exported = await shop.catalog.export_rows()
    # B and C share A's category, so they come back with the category's Russian name too;
    # A and B with the moment they were first imported.
    assert [replace(r, line=0) for r in exported] == [
        replace(rows[0], line=0, created=clock.now),
        replace(rows[1], line=0, categories={"ru": "Вещи"}, created=clock.now),
        replace(rows[2], line=0, categories={"ru": "Вещи"}),
    ]


async def test_a_product_keeps_when_it_came_unless_the_file_says_when(
    any_shop: Shop, clock: FakeClock
) -> None:
    arrived = clock.now
    await any_shop.catalog.import_rows([row("A"), row("B")])
    clock.advance(days=3)
    given = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)

    await any_shop.catalog.import_rows([row("A", price=2_000), row("B", created=given)])
    clock.advance(days=3)
    await any_shop.catalog.import_rows([row("A"), row("B", price=3_000)])

    a = await any_shop.catalog.product_by_sku("A")
    b = await any_shop.catalog.product_by_sku("B")
    assert a is not None
    assert b is not None
    assert (a.created_at, b.created_at) == (arrived, given)
    assert (a.price, b.price) == (1_000, 3_000)  # each import changed the rest


async def test_analytics_counts_events_by_kind(shop: Shop, clock: FakeClock) -> None:
    visit = Visit(None, "telegram", "poster-a")
    await shop.analytics.record(EventKind.START, visit)
    clock.advance(days=2)
    await shop.analytics.record(EventKind.SEARCH, visit, data={"query": "iphnoe"})
    await shop.analytics.record(EventKind.SEARCH, visit, data={"query": "kofe"})
    assert await shop.analytics.counts() == {"start": 1, "search": 2}
    assert await shop.analytics.counts(since=clock.now - timedelta(days=1)) == {"search": 2}


def test_money_formats_by_locale_and_refuses_floats_in_disguise() -> None:
    assert format_money(129_990, "USD", "en") == "$1,299.90"
    assert format_money(129_990, "RUB", "ru").replace("\xa0", " ") == "1 299,90 ₽"
    assert format_money(500, "JPY", "en") == "¥500"
    assert parse_major("1299.90", "USD") == 129_990
    assert parse_major("500", "JPY") == 500
    for bad in ("12.345", "-1", "abc", "NaN"):
        with pytest.raises(MoneyError):
            parse_major(bad, "USD")
    assert Money(1_000, "USD").percent(15) == Money(150, "USD")
    with pytest.raises(MoneyError):
        _ = Money(1, "USD") + Money(1, "EUR")
