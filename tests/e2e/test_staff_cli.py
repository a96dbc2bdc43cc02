"""Staff commands as subprocesses beside a shop running on the same SQLite file.

The shop of the test process stands for `chatshop run`: it is built once, keeps its
connections open, and reads what each command changed.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.wiring import Shop, build_shop
from shop.migrate import upgrade
from tests.cli_support import GOOD, chatshop, write


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Shop]:
    """A migrated shop on tmp_path/shop.db, open for the whole test, as `chatshop run` keeps it."""
    shop = build_shop(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"))
    await upgrade(shop.db)
    yield shop
    await shop.db.dispose()


async def staff(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run one `chatshop` command in its own process, the loop of the running shop going on."""
    return await asyncio.to_thread(chatshop, tmp_path, *args, env=env)


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """Return the one line a refused command said, having checked it failed with exit 1."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.removeprefix("error: ").rstrip("\n")


async def test_one_product_changes_without_an_import_and_the_running_shop_sees_it(
    tmp_path: Path, running: Shop
) -> None:
    header, *rows = GOOD.splitlines()
    with_active = "\n".join([f"{header},active", f"{rows[0]},", f"{rows[1]},false"]) + "\n"
    imported = await staff(
        tmp_path, "catalog", "import", str(write(tmp_path, "in.csv", with_active))
    )
    exported = await staff(tmp_path, "catalog", "export")
    relisted = await staff(tmp_path, "catalog", "relist", "CUP-1")
    priced = await staff(tmp_path, "catalog", "set-price", "TEA-1", "5.10")
    stocked = await staff(tmp_path, "catalog", "set-stock", "TEA-1", "3")
    delisted = await staff(tmp_path, "catalog", "delist", "TEA-1")

    assert imported.returncode == 0, imported.stderr
    assert [line.split(",")[0] for line in exported.stdout.splitlines()] == ["sku", "TEA-1"]
    assert relisted.stdout == "CUP-1 is on sale, 5 in stock.\n"
    assert priced.stdout == "TEA-1: $5.10.\n"
    assert stocked.stdout == "TEA-1: 3 in stock.\n"
    assert delisted.stdout == "TEA-1 is off sale (relist puts it back).\n"
    tea, cup = (
        await running.catalog.product_by_sku("TEA-1"),
        await running.catalog.product_by_sku("CUP-1"),
    )
    assert tea is not None
    assert cup is not None
    assert (tea.price, tea.stock, tea.active) == (510, 3, False)
    assert cup.active
    assert [p.sku for p in await running.catalog.all_products()] == ["CUP-1"]

    assert refused(await staff(tmp_path, "catalog", "set-price", "NOPE", "1")) == (
        "product 'NOPE' not found"
    )
    assert refused(await staff(tmp_path, "catalog", "set-price", "CUP-1", "0")) == (
        "price '0' would give the product away; use --allow-free if it is free on purpose"
    )
    assert refused(await staff(tmp_path, "catalog", "set-price", "CUP-1", "7,50")) == (
        "price '7,50' is not a number; write it with a dot and no spaces, like 1299.90"
    )
    in_euros = await staff(tmp_path, "catalog", "set-price", "CUP-1", "7", SHOP_CURRENCY="EUR")
    assert refused(in_euros) == (
        "CUP-1 is priced in USD and the shop sells in EUR: import it in the shop's currency instead"
    )
    cup = await running.catalog.product_by_sku("CUP-1")
    assert cup is not None
    assert cup.price == 700
