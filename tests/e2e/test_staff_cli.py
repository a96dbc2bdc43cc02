"""Staff commands as subprocesses beside a shop running on the same SQLite file.

The shop of the test process stands for `chatshop run`: it is built once, keeps its
connections open, and reads what each command changed.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Connection

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from shop import tables as t
from shop.analytics import Visit
from shop.errors import PromoRejectedError
from shop.experiments import Thing
from shop.migrate import upgrade
from shop.models import Channel, OrderStatus
from shop.views import OrderView
from tests.cli_support import GOOD, chatshop, write
from tests.conftest import row
from tests.payment_support import paid_through_sandbox, pending_order
from tests.together_support import place, product_id


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


async def test_often_bought_together_is_counted_again_from_every_paid_order(
    tmp_path: Path, running: Shop
) -> None:
    await running.catalog.import_rows([row("TEA"), row("CUP"), row("POT")])
    for buyer, skus in (("ann", ["TEA", "CUP"]), ("bob", ["TEA", "CUP", "POT"])):
        await place(running, buyer, skus)
    tea = await product_id(running, "TEA")
    assert await running.together.suggest([tea], [tea]) == []  # not counted yet

    rebuilt = await staff(tmp_path, "catalog", "rebuild-together")

    assert rebuilt.stdout == "Counted every paid order again: 3 pairs of products.\n"
    found = await running.together.suggest([tea], [tea])
    assert [(s.product.sku, s.together) for s in found] == [("CUP", True), ("POT", True)]


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


async def _paid_order(shop: Shop, customer: str) -> OrderView:
    """Return an order paid through the sandbox, its payment recorded as a provider's would be."""
    return await paid_through_sandbox(shop, await pending_order(shop, customer=customer))


async def test_orders_are_listed_shown_and_moved_along_beside_the_running_shop(
    tmp_path: Path, running: Shop
) -> None:
    unpaid = await pending_order(running, customer="1")
    paid = await _paid_order(running, customer="2")

    listed = await staff(tmp_path, "orders", "list", "--json")
    # The running shop sells on while staff work: both write the one SQLite file.
    packed, meanwhile = await asyncio.gather(
        staff(tmp_path, "orders", "set-status", str(paid.id), "packed", "--note", "boxed"),
        pending_order(running, customer="3", quantity=1),
    )
    assert (await running.orders.get(paid.id)).order.status == OrderStatus.PACKED
    shipped = await staff(
        tmp_path, "orders", "set-status", str(paid.id), "shipped",
        "--tracking", "1Z999", "--carrier", "DHL",
    )  # fmt: skip
    seen = (await running.orders.get(paid.id)).order
    shown = await staff(tmp_path, "orders", "show", str(paid.id), "--json")
    readable = await staff(tmp_path, "orders", "show", str(paid.id), COLUMNS="200")
    table = await staff(tmp_path, "orders", "list", "--status", "shipped", COLUMNS="200")

    assert packed.stdout == f"Order #{paid.id} is packed.\n"
    assert meanwhile.status == OrderStatus.PENDING_PAYMENT
    assert shipped.stdout == f"Order #{paid.id} is shipped: DHL 1Z999.\n"
    assert (seen.status, seen.carrier, seen.tracking_number) == ("shipped", "DHL", "1Z999")
    summaries = json.loads(listed.stdout)
    assert [(s["id"], s["status"]) for s in summaries] == [
        (paid.id, "paid"),
        (unpaid.id, "pending_payment"),
    ]
    for summary, order, who in ((summaries[0], paid, "2"), (summaries[1], unpaid, "1")):
        customer = await running.customers.get(order.customer_id)
        assert summary["total"] == order.total == 5_000
        assert summary["currency"] == "USD"
        assert summary["channel"] == "telegram"
        assert summary["customer"] == {"id": customer.id, "name": "Ann", "external_id": who}
        assert summary["created_at"] == order.created_at.isoformat()
    assert [(step["status"], step["actor"]) for step in summaries[0]["timeline"]] == [
        ("pending_payment", "customer"),
        ("paid", "payment:sandbox"),
    ]
    assert all(datetime.fromisoformat(step["time"]).tzinfo for step in summaries[0]["timeline"])

    full = json.loads(shown.stdout)
    assert {key: full[key] for key in ("id", "status", "total", "currency", "channel")} == {
        "id": paid.id, "status": "shipped", "total": 5_000, "currency": "USD",
        "channel": "telegram",
    }  # fmt: skip
    assert full["customer"] == summaries[0]["customer"]
    assert [
        (step["status"], step["actor"], step["note"], step["carrier"], step["tracking_number"])
        for step in full["timeline"]
    ] == [
        ("pending_payment", "customer", None, None, None),
        ("paid", "payment:sandbox", None, None, None),
        ("packed", "staff:cli", "boxed", None, None),
        ("shipped", "staff:cli", None, "DHL", "1Z999"),
    ]
    assert (full["subtotal"], full["discount"], full["delivery_price"]) == (5_000, 0, 0)
    assert (full["promo_code"], full["source"]) == (None, None)
    assert full["contact"] == {"name": None, "phone": None}
    assert full["delivery"] == {
        "method": "pickup", "address": None, "carrier": "DHL", "tracking_number": "1Z999",
    }  # fmt: skip
    assert full["lines"] == [
        {
            "sku": "A", "title": "Product A", "unit_price": 2_500, "quantity": 2,
            "total": 5_000, "digital": False,
        }
    ]  # fmt: skip
    [payment] = full["payments"]
    assert {k: payment[k] for k in ("provider", "status", "amount", "currency", "refunded_at")} == {
        "provider": "sandbox", "status": "succeeded", "amount": 5_000, "currency": "USD",
        "refunded_at": None,
    }  # fmt: skip
    assert payment["paid_at"] is not None
    assert readable.stdout.startswith(f"Order #{paid.id}  shipped  $50.00\n")
    assert "Delivery: pickup, DHL 1Z999" in readable.stdout
    assert "shipped  by staff:cli  DHL, 1Z999" in readable.stdout
    assert [line.split()[1] for line in table.stdout.splitlines() if "telegram" in line] == [
        str(paid.id)
    ]


async def test_an_illegal_change_is_refused_with_its_reason_in_one_line(
    tmp_path: Path, running: Shop
) -> None:
    unpaid = await pending_order(running, customer="1")
    paid = await _paid_order(running, customer="2")

    assert refused(
        await staff(tmp_path, "orders", "set-status", str(unpaid.id), "shipped", "--tracking", "1")
    ) == (
        f"order {unpaid.id}: cannot go from pending_payment to shipped: "
        "from pending_payment an order goes to paid or cancelled"
    )
    assert refused(await staff(tmp_path, "orders", "set-status", str(paid.id), "shipped")) == (
        "an order is shipped with its tracking number: add --tracking NUMBER"
    )
    assert refused(await staff(tmp_path, "orders", "set-status", str(paid.id), "cancelled")) == (
        f"order {paid.id}: cannot go from paid to cancelled: a paid order is refunded, not cancelled"
    )
    refunded = await staff(tmp_path, "orders", "refund", str(paid.id), "--reason", "broken")
    assert refunded.stdout == f"Order #{paid.id} is refunded: $50.00 back through sandbox.\n"
    assert (await running.orders.get(paid.id)).order.status == OrderStatus.REFUNDED
    assert refused(await staff(tmp_path, "orders", "refund", str(paid.id))) == (
        f"order {paid.id}: cannot go from refunded to refunded: it is already refunded"
    )
    assert refused(await staff(tmp_path, "orders", "show", "999")) == "order 999 not found"
    assert (await running.orders.get(unpaid.id)).order.status == OrderStatus.PENDING_PAYMENT


async def test_customers_are_exported_for_a_spreadsheet_that_runs_none_of_their_names(
    tmp_path: Path, running: Shop
) -> None:
    ann = await running.customers.touch(
        Channel.TELEGRAM, "1001", display_name="Анна", source="window-1"
    )
    await running.customers.set_marketing_consent(ann.id, True)
    await running.customers.save_contact(
        ann.id, name="Anna Lee", phone="+49 151 1234", address=None
    )
    mallory = await running.customers.touch(Channel.WHATSAPP, "+15550001")

    def stored_before_the_rule(conn: Connection) -> None:
        conn.execute(
            update(t.customer)
            .where(t.customer.c.id == mallory.id)
            .values(display_name='=HYPERLINK("http://evil","Bob")\x1b[2J')
        )

    await running.db.write(stored_before_the_rule)

    to_file = await staff(tmp_path, "customers", "export", "-o", "customers.csv")
    to_stdout = await staff(tmp_path, "customers", "export")

    assert to_file.stderr == "Exported 2 customers to customers.csv.\n"
    data = (tmp_path / "customers.csv").read_bytes()
    assert data.decode("utf-8").replace("\r\n", "\n") == to_stdout.stdout  # read as text
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == {
        "id": str(ann.id), "channel": "telegram", "external_id": "1001", "display_name": "Анна",
        "locale": "", "marketing_consent": "true",
        "consent_at": rows[0]["consent_at"], "first_source": "window-1",
        "first_seen_at": rows[0]["first_seen_at"], "last_inbound_at": rows[0]["last_inbound_at"],
        "contact_name": "Anna Lee", "contact_phone": "'+49 151 1234",
        "telegram_address": "1001", "whatsapp_address": "", "console_address": "",
        "verified_phone": "",
    }  # fmt: skip
    assert all(
        datetime.fromisoformat(rows[0][column]).date() == ann.first_seen_at.date()
        for column in ("consent_at", "first_seen_at", "last_inbound_at")
    )
    assert (rows[1]["external_id"], rows[1]["display_name"], rows[1]["marketing_consent"]) == (
        "'+15550001",
        '\'=HYPERLINK("http://evil","Bob")\\u001b[2J',
        "false",
    )


async def test_the_owner_starts_reports_and_stops_an_experiment(
    tmp_path: Path, running: Shop
) -> None:
    shop = running
    bad = await staff(tmp_path, "experiments", "create", "b", "--on", "buy_now", "--split", "60/30")
    assert refused(bad) == "--split: whole percentages of at least 1 that add up to 100"
    started = await staff(tmp_path, "experiments", "create", "Buy-Now", "--on", "buy_now")
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

    listed = await staff(tmp_path, "experiments", "list", "--json")
    [described] = json.loads(listed.stdout)
    assert {k: described[k] for k in ("name", "on", "variants", "split", "promo", "running")} == {
        "name": "buy-now",
        "on": "buy_now",
        "variants": ["shown", "hidden"],
        "split": [50, 50],
        "promo": None,
        "running": True,
    }
    reported = await staff(tmp_path, "report", "experiment", "buy-now", "--json")
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

    stopped = await staff(tmp_path, "experiments", "stop", "buy-now")
    assert stopped.stdout.startswith("buy-now is stopped;")
    customer = await shop.customers.touch(Channel.TELEGRAM, "late")
    # The running shop reads the experiments again at most REFRESH later; a new one sees none now.
    fresh = build_shop(shop.settings)
    try:
        visit = Visit(customer.id, Channel.TELEGRAM.value)
        assert await fresh.experiments.expose(Thing.BUY_NOW, customer, visit) is None
    finally:
        await fresh.db.dispose()
