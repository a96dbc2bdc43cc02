"""Checkouts per second on SQLite: chatshop's checkout beside raw sqlite3 doing the same writes.

Each checkout turns a two-product cart into an order: read the cart, reserve stock
atomically, insert the order, its lines and its first timeline event, empty the
cart, and append the funnel event — one transaction. "1 at a time" is one
customer after another (each waits for its commit: latency-bound); "N concurrent"
is N customers checking out at once, as on a busy shop, where the writer commits
queued checkouts in groups. Run:

    python benchmarks/checkout.py [--checkouts 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import build_shop
from bot.settings import Settings
from shop.catalog_file import CatalogRow
from shop.migrate import upgrade
from shop.models import Channel

PRODUCTS = 1_000


def catalog_rows() -> list[CatalogRow]:
    return [
        CatalogRow(
            line=n + 2,
            sku=f"SKU-{n:05d}",
            title=f"Product {n}",
            description="",
            price=1_000 + n,
            currency="USD",
            stock=1_000_000,
            category=f"Category {n % 8}",
            image_url=None,
            digital=False,
            titles={},
            descriptions={},
            categories={},
        )
        for n in range(PRODUCTS)
    ]


async def prepare(path: Path, customers: int) -> list[int]:
    """Create a catalog, customers and their two-line carts (not timed)."""
    shop = build_shop(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    await upgrade(shop.db)
    await shop.catalog.import_rows(catalog_rows())
    ids = []
    for n in range(customers):
        customer = await shop.customers.touch(Channel.CONSOLE, f"bench-{n}")
        assert customer.id is not None
        await shop.carts.add(customer.id, 1 + n % PRODUCTS, 1)
        await shop.carts.add(customer.id, 1 + (n * 7 + 3) % PRODUCTS, 2)
        ids.append(customer.id)
    await shop.db.dispose()
    return ids


async def chatshop_checkouts(path: Path, customers: list[int], concurrency: int) -> float:
    """Time chatshop's OrderService.checkout over every cart; return checkouts per second."""
    shop = build_shop(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    queue = list(reversed(customers))

    async def worker() -> None:
        while queue:
            await shop.orders.checkout(queue.pop(), channel="console")

    await shop.catalog.count()  # open the pool before timing
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await shop.db.dispose()
    return len(customers) / elapsed


def raw_checkouts(path: Path, customers: list[int]) -> float:
    """Do the same writes with the sqlite3 module directly; return checkouts per second."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    now = datetime.now(UTC).replace(tzinfo=None)
    until = now + timedelta(minutes=30)
    started = time.perf_counter()
    for customer_id in customers:
        conn.execute("BEGIN IMMEDIATE")
        lines = conn.execute(
            "SELECT p.id, p.sku, p.title, p.title_i18n, p.price, p.digital, c.quantity "
            "FROM cart_item c JOIN product p ON p.id = c.product_id WHERE c.customer_id = ?",
            (customer_id,),
        ).fetchall()
        subtotal = sum(line[4] * line[6] for line in lines)
        reserved = conn.execute(
            "UPDATE product SET stock = product.stock - cart_item.quantity FROM cart_item "
            "WHERE cart_item.product_id = product.id AND cart_item.customer_id = ? "
            "AND product.stock >= cart_item.quantity RETURNING product.id, product.stock",
            (customer_id,),
        ).fetchall()
        assert len(reserved) == len(lines)
        order_id = conn.execute(
            "INSERT INTO shop_order (customer_id, status, currency, subtotal, discount, "
            "delivery_price, total, delivery_method, digital, reservation, reserved_until, "
            "channel, created_at, updated_at) VALUES (?, 'pending_payment', 'USD', ?, 0, 0, ?, "
            "'pickup', 0, 'held', ?, 'console', ?, ?) RETURNING id",
            (customer_id, subtotal, subtotal, until, now, now),
        ).fetchone()[0]
        conn.executemany(
            "INSERT INTO order_line (order_id, product_id, sku, title, title_i18n, unit_price, "
            "quantity, digital) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(order_id, *line) for line in lines],
        )
        conn.execute(
            "INSERT INTO order_event (order_id, status, at, actor) "
            "VALUES (?, 'pending_payment', ?, 'customer')",
            (order_id, now),
        )
        conn.execute("DELETE FROM cart_item WHERE customer_id = ?", (customer_id,))
        conn.execute(
            "INSERT INTO analytics_event (at, kind, customer_id, channel, order_id, value, data) "
            "VALUES (?, 'checkout', ?, 'console', ?, ?, ?)",
            (now, customer_id, order_id, subtotal, json.dumps({})),
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(customers) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=int, default=3_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.db"
        customers = asyncio.run(prepare(template, args.checkouts))
        runs: list[tuple[str, Callable[[Path], float]]] = [
            ("raw sqlite3 (baseline)", lambda p: raw_checkouts(p, customers)),
            (
                "chatshop checkout, 1 at a time",
                lambda p: asyncio.run(chatshop_checkouts(p, customers, 1)),
            ),
            (
                "chatshop checkout, 16 concurrent",
                lambda p: asyncio.run(chatshop_checkouts(p, customers, 16)),
            ),
            (
                "chatshop checkout, 64 concurrent",
                lambda p: asyncio.run(chatshop_checkouts(p, customers, 64)),
            ),
        ]
        results: list[tuple[str, float]] = []
        for label, run in runs:
            copy = Path(tmp) / f"run-{len(results)}.db"
            shutil.copy(template, copy)
            results.append((label, run(copy)))
    baseline = results[0][1]
    print(f"{args.checkouts} checkouts of a two-product cart on SQLite (WAL, synchronous=NORMAL)")
    print(f"{'method':<36}{'checkouts/s':>14}{'vs raw':>10}")
    for label, rate in results:
        print(f"{label:<36}{rate:>14,.0f}{rate / baseline:>10.3f}")
    print("goal: >= 2,000 checkouts/s and >= 1/15 (0.067) of raw sqlite3")


if __name__ == "__main__":
    main()
