"""Several processes on one SQLite file race for the last units: BEGIN IMMEDIATE and the busy
timeout keep them correct where one process's writer thread cannot."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

from bot.app import build_shop
from bot.settings import Settings
from shop.migrate import upgrade
from tests.conftest import FakeClock, row

BUYER = textwrap.dedent(
    """
    import asyncio, sys
    from bot.settings import Settings
    from bot.app import build_shop
    from shop.errors import OutOfStockError
    from shop.models import Channel

    async def main(url: str, name: str) -> None:
        shop = build_shop(Settings(database_url=url))
        product = await shop.catalog.product_by_sku("LAST")
        ids = []
        for n in range(10):
            customer = await shop.customers.touch(Channel.CONSOLE, f"{name}-{n}")
            await shop.carts.add(customer.id, product.id, 1)
            ids.append(customer.id)
        print("ready", flush=True)
        sys.stdin.readline()  # the parent says go once every process is ready

        async def buy(customer_id: int) -> bool:
            try:
                await shop.orders.checkout(customer_id, channel="console")
            except OutOfStockError:
                return False
            return True

        won = await asyncio.gather(*(buy(i) for i in ids))
        print("won", sum(won), flush=True)
        await shop.db.dispose()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_four_processes_forty_buyers_ten_units(sqlite_url: str, tmp_path: Path) -> None:
    shop = build_shop(Settings(database_url=sqlite_url), clock=FakeClock())
    await upgrade(shop.db)
    await shop.catalog.import_rows([row("LAST", stock=40)])
    buyers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            BUYER,
            sqlite_url,
            f"p{n}",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for n in range(4)
    ]
    for buyer in buyers:
        assert buyer.stdout is not None
        assert (await buyer.stdout.readline()).strip() == b"ready"
    await shop.catalog.set_stock("LAST", 10)
    for buyer in buyers:
        assert buyer.stdin is not None
        buyer.stdin.write(b"go\n")
        await buyer.stdin.drain()
    outputs = [
        (await asyncio.wait_for(buyer.communicate(), timeout=120))[0].decode() for buyer in buyers
    ]

    won = sum(
        int(line.split()[1])
        for out in outputs
        for line in out.splitlines()
        if line.startswith("won")
    )
    assert all(buyer.returncode == 0 for buyer in buyers)
    assert won == 10
    product = await shop.catalog.product_by_sku("LAST")
    assert product is not None
    assert product.stock == 0
    await shop.db.dispose()
