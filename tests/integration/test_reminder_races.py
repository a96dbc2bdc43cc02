"""Several processes remind at once, on SQLite and on PostgreSQL: each cart's reminder is written once.

And an upgrade to reminders reminds no one of carts left before it.

Each scanner is a shop of its own over the same database (its own connection pool),
as `chatshop run` and `chatshop worker` processes are.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy.engine import Connection

from bot.app import build_shop
from bot.services import Shop
from shop import tables as t
from shop.migrate import alembic_config
from shop.outbox import Kind
from shop.reminders import BATCH
from tests.conftest import FakeClock, row

CARTS = BATCH + 100  # more than one scanner's batch: the scanners overlap
SCANNERS = 4


@pytest.fixture
async def scanners(any_shop: Shop, clock: FakeClock) -> AsyncIterator[list[Shop]]:
    """The shop and three more processes' worth of it, over the same database."""
    others = [build_shop(any_shop.settings, clock=clock) for _ in range(SCANNERS - 1)]
    yield [any_shop, *others]
    for other in others:
        await other.db.dispose()


async def _tea(shop: Shop) -> int:
    """Put a tea on sale; return its id."""
    await shop.catalog.import_rows([row("TEA", stock=1_000)])
    product = await shop.catalog.product_by_sku("TEA")
    assert product is not None
    return product.id


async def _left_carts(shop: Shop, clock: FakeClock, tea: int) -> None:
    """CARTS customers who may be reminded, each with a cart of `tea` changed now."""
    now = clock()

    def work(conn: Connection) -> None:
        ids = conn.execute(
            t.customer.insert().returning(t.customer.c.id),
            [
                {
                    "channel": "telegram",
                    "external_id": str(10_000 + n),
                    "display_name": "",
                    "marketing_consent": True,
                    "first_seen_at": now,
                }
                for n in range(CARTS)
            ],
        ).scalars()
        customers = list(ids)
        conn.execute(t.cart.insert(), [{"customer_id": c, "updated_at": now} for c in customers])
        conn.execute(
            t.cart_item.insert(),
            [
                {"customer_id": c, "product_id": tea, "quantity": 1, "added_at": now}
                for c in customers
            ],
        )

    await shop.db.write(work)


async def test_scanners_at_once_write_each_cart_s_reminder_once(
    scanners: list[Shop], clock: FakeClock
) -> None:
    shop = scanners[0]
    await _left_carts(shop, clock, await _tea(shop))
    clock.advance(hours=3)

    await asyncio.gather(*(scanner.reminders.remind() for scanner in scanners for _ in range(2)))

    o = t.outbound_message.c
    query = select(o.customer_id).where(o.kind == Kind.CART_REMINDER.value)
    reminded = Counter(await shop.db.read(lambda conn: conn.execute(query).scalars().all()))
    assert len(reminded) == CARTS
    assert set(reminded.values()) == {1}


async def test_stock_back_from_several_processes_at_once_tells_each_request_once(
    scanners: list[Shop], clock: FakeClock
) -> None:
    shop = scanners[0]
    await _left_carts(shop, clock, await _tea(shop))  # customers to ask
    await shop.catalog.import_rows([row("GONE", stock=0)])
    gone = await shop.catalog.product_by_sku("GONE")
    assert gone is not None
    customers = await shop.customers.all_people()
    for customer in customers[:50]:
        await shop.stock_alerts.ask(customer.id, gone.id)

    await asyncio.gather(
        *(scanner.catalog.set_stock("GONE", n + 1) for n, scanner in enumerate(scanners)),
        shop.catalog.import_rows([row("GONE", stock=9)]),
    )

    o = t.outbound_message.c
    query = select(o.customer_id).where(o.kind == Kind.BACK_IN_STOCK.value)
    told = Counter(await shop.db.read(lambda conn: conn.execute(query).scalars().all()))
    assert len(told) == 50
    assert set(told.values()) == {1}


async def test_carts_left_before_the_upgrade_are_not_reminded_of(
    any_shop: Shop, clock: FakeClock
) -> None:
    """Upgrading to reminders must not remind everyone who ever left a cart."""
    shop = any_shop
    tea = await _tea(shop)
    await _migrate(shop, "downgrade", "0009")
    await _left_carts(shop, clock, tea)  # written as the version before reminders writes them
    await _migrate(shop, "upgrade", "head")
    clock.advance(hours=3)

    await shop.reminders.remind()
    o = t.outbound_message.c
    query = select(o.id).where(o.kind == Kind.CART_REMINDER.value)
    assert await shop.db.read(lambda conn: conn.execute(query).all()) == []


async def _migrate(shop: Shop, direction: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        getattr(command, direction)(alembic_config(connection), revision)

    await shop.db.write(run, bulk=True)
