"""SQLite under load: short transactions on the event loop, long ones and waits on threads."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.services import Shop
from shop.models import Channel
from tests.conftest import row


async def test_customers_are_served_while_a_large_import_runs(shop: Shop) -> None:
    await shop.catalog.import_rows([row("TEA")])
    tea = await shop.catalog.product_by_sku("TEA")
    assert tea is not None
    big = [row(f"SKU-{n}", title=f"Product number {n}") for n in range(40_000)]

    importing = asyncio.create_task(shop.catalog.import_rows(big))
    await asyncio.sleep(0)  # let the import reach its thread
    shown = [await shop.catalog.product(tea.id) for _ in range(20)]

    assert not importing.done()  # the loop kept answering while the import ran
    assert {p.sku for p in shown if p is not None} == {"TEA"}
    assert (await importing).created == 40_000


async def test_a_write_waits_for_another_process_holding_the_lock(
    shop: Shop, tmp_path: Path
) -> None:
    await shop.catalog.import_rows([row("TEA")])
    tea = await shop.catalog.product_by_sku("TEA")
    customer = await shop.customers.touch(Channel.CONSOLE, "me")
    assert tea is not None

    other = sqlite3.connect(tmp_path / "shop.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing, say an import
    adding = asyncio.create_task(shop.carts.add(customer.id, tea.id, 2))
    done, _ = await asyncio.wait({adding}, timeout=0.3)
    assert not done  # waiting its turn, not failing with "database is locked"
    other.rollback()
    other.close()

    assert (await adding).units == 2
    assert (await shop.carts.view(customer.id)).units == 2
