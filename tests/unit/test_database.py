"""SQLite under load: short transactions on the event loop, long ones and waits on threads."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Connection

from bot.services import Shop
from shop.db import background
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


async def test_a_request_goes_before_background_work_however_much_of_it_waits(shop: Shop) -> None:
    ran: list[str] = []
    background_began = asyncio.Event()

    def note(what: str) -> Callable[[Connection], None]:
        return lambda _conn: ran.append(what)

    async def handler(n: int) -> None:  # a WhatsApp message handled after Twilio's answer
        with background():
            for _ in range(5):
                await shop.db.write(note(f"handler {n}"))
                background_began.set()

    async def webhook() -> None:  # comes while eight handlers are busy
        await background_began.wait()
        await shop.db.write(note("webhook"))

    await asyncio.gather(*(handler(n) for n in range(8)), webhook())

    assert len(ran) == 41
    assert ran.index("webhook") <= 2  # behind the one transaction in progress, at most


async def test_background_work_goes_on_while_requests_keep_coming(shop: Shop) -> None:
    handled = asyncio.Event()
    requests = 0

    async def handler() -> None:
        with background():
            for _ in range(10):
                await shop.db.read(lambda _conn: None)
        handled.set()

    async def webhooks() -> None:  # one after another, never a pause between them
        nonlocal requests
        while not handled.is_set() and requests < 1000:
            await shop.db.write(lambda _conn: None)
            requests += 1
            await asyncio.sleep(0)

    await asyncio.gather(handler(), webhooks())

    assert requests <= 3 * 10  # a turn every pass of the loop, not only once the requests stop
