"""`chatshop experiments ...` and `chatshop report experiment` as the owner runs them, beside a running shop."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from shop.analytics import Visit
from shop.experiments import Thing
from shop.migrate import upgrade
from shop.models import Channel
from tests.cli_support import chatshop
from tests.conftest import row
from tests.payment_support import paid_through_sandbox


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Shop]:
    """A migrated shop on tmp_path/shop.db, open for the whole test, as `chatshop run` keeps it."""
    shop = build_shop(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"))
    await upgrade(shop.db)
    yield shop
    await shop.db.dispose()


async def owner(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one `chatshop` command in its own process, the loop of the running shop going on."""
    return await asyncio.to_thread(chatshop, tmp_path, *args)


async def test_the_owner_starts_reports_and_stops_an_experiment(
    tmp_path: Path, running: Shop
) -> None:
    shop = running
    refused = await owner(
        tmp_path, "experiments", "create", "b", "--on", "buy_now", "--split", "60/30"
    )
    assert refused.returncode == 1
    assert refused.stderr == "error: --split: whole percentages of at least 1 that add up to 100\n"
    started = await owner(tmp_path, "experiments", "create", "Buy-Now", "--on", "buy_now")
    assert started.stdout == "Started buy-now: buy_now: shown 50% / hidden 50%.\n"

    # Scripted customers: who saw which variant, who reached the cart, who paid.
    await shop.catalog.import_rows([row("TEA", price=1_000, stock=100)])
    tea = await shop.catalog.product_by_sku("TEA")
    assert tea is not None
    experiment = await shop.experiments.get("buy-now")
    plan = [(True, True), (True, False), (False, False)] * 4  # (to cart, pays), per customer
    expected = {v: {"exposed": 0, "cart": 0, "paid": 0} for v in ("shown", "hidden")}
    for n, (to_cart, pays) in enumerate(plan):
        customer = await shop.customers.touch(Channel.TELEGRAM, str(1000 + n))
        visit = Visit(customer.id, Channel.TELEGRAM.value)
        exposure = await shop.experiments.expose(Thing.BUY_NOW, customer, visit)
        assert exposure is not None
        assert exposure.variant == experiment.variant_for(customer.id)
        counts = expected[exposure.variant]
        counts["exposed"] += 1
        if to_cart:
            await shop.carts.add(customer.id, tea.id, 1, visit=visit)
            counts["cart"] += 1
            if pays:
                order = await shop.orders.checkout(customer.id, channel=visit.channel or "")
                await paid_through_sandbox(shop, order)
                counts["paid"] += 1

    listed = await owner(tmp_path, "experiments", "list", "--json")
    [described] = json.loads(listed.stdout)
    assert {k: described[k] for k in ("name", "on", "variants", "split", "promo", "running")} == {
        "name": "buy-now",
        "on": "buy_now",
        "variants": ["shown", "hidden"],
        "split": [50, 50],
        "promo": None,
        "running": True,
    }
    reported = await owner(tmp_path, "report", "experiment", "buy-now", "--json")
    assert reported.returncode == 0, reported.stderr
    report = json.loads(reported.stdout)
    figures = {
        f["variant"]: {
            "exposed": f["exposed"],
            "cart": f["cart"]["customers"],
            "paid": f["paid"]["customers"],
        }
        for f in report["figures"]
    }
    assert figures == expected
    for f in report["figures"]:
        for step in ("cart", "paid"):
            part = f[step]
            assert part["rate"] == round(part["customers"] / f["exposed"], 4)
            assert part["low"] <= part["rate"] <= part["high"]
            assert part["low"] < part["high"]
    [comparison] = report["comparisons"]
    assert (comparison["variant"], comparison["control"]) == ("hidden", "shown")
    assert comparison["cart"]["verdict"] == comparison["paid"]["verdict"] == "too_few"
    assert 0 <= comparison["paid"]["chance_to_beat"] <= 1
    assert [w.split(":")[0] for w in report["warnings"]] == ["to cart", "to paid"]

    stopped = await owner(tmp_path, "experiments", "stop", "buy-now")
    assert stopped.stdout.startswith("buy-now is stopped;")
    customer = await shop.customers.touch(Channel.TELEGRAM, "late")
    # The running shop reads the experiments again at most REFRESH later; a new one sees none now.
    fresh = build_shop(shop.settings)
    try:
        visit = Visit(customer.id, Channel.TELEGRAM.value)
        assert await fresh.experiments.expose(Thing.BUY_NOW, customer, visit) is None
    finally:
        await fresh.db.dispose()
