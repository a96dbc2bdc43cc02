"""Staff commands as subprocesses beside a shop running on the same SQLite file.

The shop of the test process stands for `chatshop run`: it is built once, keeps its
connections open, and reads what each command changed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.wiring import Shop, build_shop
from shop.errors import PromoRejectedError
from shop.migrate import upgrade
from shop.models import Channel
from tests.cli_support import GOOD, chatshop, write
from tests.conftest import row


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


async def test_promo_codes_are_created_listed_and_switched_off_for_the_running_shop(
    tmp_path: Path, running: Shop
) -> None:
    await running.catalog.import_rows([row("TEA-1", price=6_000)])
    tea = await running.catalog.product_by_sku("TEA-1")
    assert tea is not None
    ann = await running.customers.touch(Channel.TELEGRAM, "ann")
    await running.carts.add(ann.id, tea.id)
    percent = await staff(
        tmp_path, "promos", "create", "winter15", "--percent", "15", "--min-total", "50",
        "--max-uses", "100", "--until", "2099-12-31",
    )  # fmt: skip
    amount = await staff(
        tmp_path, "promos", "create", "FIVE", "--amount", "5", "--per-customer", "3"
    )
    endless = await staff(
        tmp_path, "promos", "create", "ALWAYS", "--percent", "5", "--per-customer", "0"
    )
    assert percent.stdout == (
        "Created WINTER15: 15% off goods from $50.00, 100 uses in all, once per customer, "
        "until 2099-12-31.\n"
    )
    assert amount.stdout == "Created FIVE: $5.00 off, 3 times per customer.\n"
    assert endless.stdout == "Created ALWAYS: 5% off, no limit per customer.\n"
    assert (await running.carts.apply_promo(ann.id, "five")).discount == 500

    switched_off = await staff(tmp_path, "promos", "deactivate", "five")
    listed = await staff(tmp_path, "promos", "list", "--json")
    table = await staff(tmp_path, "promos", "list", COLUMNS="200")

    assert switched_off.stdout == "FIVE is switched off; orders placed keep their discount.\n"
    with pytest.raises(PromoRejectedError):
        await running.carts.apply_promo(ann.id, "FIVE")
    assert json.loads(listed.stdout) == [
        {
            "code": "ALWAYS", "kind": "percent", "value": 5, "currency": None, "min_total": 0,
            "max_uses": None, "used": 0, "per_customer": None, "starts_at": None,
            "ends_at": None, "active": True,
        },
        {
            "code": "FIVE", "kind": "fixed", "value": 500, "currency": "USD", "min_total": 0,
            "max_uses": None, "used": 0, "per_customer": 3, "starts_at": None, "ends_at": None,
            "active": False,
        },
        {
            "code": "WINTER15", "kind": "percent", "value": 15, "currency": None,
            "min_total": 5_000, "max_uses": 100, "used": 0, "per_customer": 1, "starts_at": None,
            "ends_at": "2100-01-01T00:00:00+00:00", "active": True,
        },
    ]  # fmt: skip
    winter = next(line for line in table.stdout.splitlines() if "WINTER15" in line)
    assert "until 2099-12-31" in winter
    assert "0 of 100" in winter

    assert refused(await staff(tmp_path, "promos", "create", "FIVE", "--amount", "5")) == (
        "promo code FIVE already exists"
    )
    assert refused(
        await staff(tmp_path, "promos", "create", "X", "--percent", "5", "--amount", "1")
    ) == ("give the discount as --percent N or --amount X, one of them")
    assert refused(await staff(tmp_path, "promos", "create", "X", "--amount", "1.234")) == (
        "--amount: price '1.234' has more decimals than USD allows (2)"
    )
    assert refused(
        await staff(tmp_path, "promos", "create", "X", "--percent", "5", "--until", "2020-01-01")
    ) == ("--until 2020-01-01 is over already (UTC)")
    assert refused(await staff(tmp_path, "promos", "deactivate", "NOPE")) == (
        "promo code 'NOPE' not found"
    )
