"""Several processes fold paid orders into "often bought together" at once: each order counts once.

Each folder is a shop of its own over the same database (its own connection pool),
as `chatshop run` and `chatshop worker` processes are; orders are paid meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from shop import tables as t
from shop.migrate import upgrade
from shop.models import OrderStatus
from shop.orders import settle
from shop.together import BATCH
from tests.conftest import FakeClock, row
from tests.together_support import place, product_id

FOLDERS = 4
PAID = BATCH + 300  # more paid orders than one fold transaction takes: the folders overlap


@pytest.fixture
async def folders(any_shop: Shop, clock: FakeClock) -> AsyncIterator[list[Shop]]:
    """The shop and three more processes' worth of it, over the same database."""
    others = [build_shop(any_shop.settings, clock=clock) for _ in range(FOLDERS - 1)]
    yield [any_shop, *others]
    for other in others:
        await other.db.dispose()


async def _paid_history(shop: Shop, clock: FakeClock, tea: int, cup: int) -> None:
    """PAID orders of tea and a cup, paid long ago (written as checkout and payment write them)."""
    now = clock()

    def work(conn: Connection) -> None:
        customer = conn.execute(
            t.customer.insert().returning(t.customer.c.id),
            {"channel": "telegram", "external_id": "1", "display_name": "", "first_seen_at": now},
        ).scalar_one()
        order = {
            "customer_id": customer,
            "status": OrderStatus.PAID.value,
            "currency": "USD",
            "subtotal": 2_000,
            "total": 2_000,
            "channel": "telegram",
            "reservation": "committed",
            "reserved_until": now,
            "created_at": now,
            "updated_at": now,
        }
        ids = conn.execute(t.order.insert().returning(t.order.c.id), [order] * PAID).scalars()
        orders = list(ids)
        line = {"sku": "X", "title": "X", "title_i18n": {}, "unit_price": 1_000, "quantity": 1}
        conn.execute(
            t.order_line.insert(),
            [{**line, "order_id": o, "product_id": p} for o in orders for p in (tea, cup)],
        )
        conn.execute(
            t.order_event.insert(),
            [{"order_id": o, "status": OrderStatus.PAID.value, "at": now} for o in orders],
        )

    await shop.db.write(work)


async def test_folders_at_once_count_each_paid_order_once_while_more_are_paid(
    folders: list[Shop], clock: FakeClock
) -> None:
    shop = folders[0]
    await shop.catalog.import_rows([row("TEA", stock=100), row("CUP", stock=100)])
    tea, cup = await product_id(shop, "TEA"), await product_id(shop, "CUP")
    await _paid_history(shop, clock, tea, cup)

    async def pay_more() -> None:
        for n in range(10):
            await place(folders[n % FOLDERS], f"buyer-{n}", ["TEA", "CUP"])

    await asyncio.gather(
        pay_more(), *(folder.together.fold() for folder in folders for _ in range(3))
    )
    await folders[1].together.fold()  # what was paid during the last folds

    tp = t.together_pair.c
    query = select(tp.product_id, tp.other_id, tp.orders).order_by(tp.product_id)
    counted = await shop.db.read(lambda conn: conn.execute(query).all())
    assert [tuple(r) for r in counted] == [(tea, cup, PAID + 10), (cup, tea, PAID + 10)]


@pytest.fixture
async def pg_shop(postgres_url: str, clock: FakeClock) -> AsyncIterator[Shop]:
    """A migrated shop on PostgreSQL only: the race below is one of its transactions."""
    shop = build_shop(Settings(database_url=postgres_url), clock=clock)
    await upgrade(shop.db)
    yield shop
    await shop.db.dispose()


@pytest.mark.postgres
async def test_an_order_paid_in_a_transaction_still_open_during_a_fold_is_counted_after_it(
    pg_shop: Shop, postgres_url: str, clock: FakeClock
) -> None:
    """A payment's step id comes before a later payment's, but its commit after a fold."""
    shop = pg_shop
    skus = ["TEA", "CUP", "POT", "MUG"]
    await shop.catalog.import_rows([row(sku, stock=10) for sku in skus])
    first = await place(shop, "ann", ["TEA", "CUP"], paid=False)
    second = await place(shop, "bob", ["POT", "MUG"], paid=False)
    other = create_async_engine(postgres_url)
    async with other.connect() as conn:
        paying = await conn.begin()  # the first payment's step is written, not committed...
        await conn.run_sync(lambda sync: settle(sync, first, clock(), actor="payment"))
        await shop.orders.confirm_payment(second)  # ...when a later one is
        await shop.together.fold()
        await paying.commit()
    await other.dispose()
    await shop.together.fold()

    tp = t.together_pair.c
    query = select(tp.product_id, tp.orders).where(tp.orders > 0)
    counted = dict(await shop.db.read(lambda conn: conn.execute(query).all()))
    ids = [await product_id(shop, sku) for sku in skus]
    assert counted == dict.fromkeys(ids, 1)
