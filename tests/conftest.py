"""Shared fixtures: a migrated database per test (SQLite file, or PostgreSQL when asked), a clock."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from shop.catalog_file import CatalogRow
from shop.migrate import upgrade

POSTGRES_URL = os.environ.get("CHATSHOP_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("CHATSHOP_TEST_REDIS_URL")


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 26, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def our_log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return what our own code logged, having checked nothing logged an error or a traceback."""
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [f"{r.name}: {r.getMessage()}" for r in loud]
    ours = ("bot", "payments", "shop")
    return [r.getMessage() for r in caplog.records if r.name.split(".")[0] in ours]


def _required(url: str | None, service: str, variable: str) -> str:
    """Return the test server's URL; skip the test without one, but fail it in CI."""
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test {service}: set {variable}")
        pytest.skip(f"{variable} is not set")
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh database on the test PostgreSQL server, dropped afterwards."""
    url = _required(POSTGRES_URL, "PostgreSQL", "CHATSHOP_TEST_POSTGRES_URL")
    name = f"chatshop_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the test Redis server; its keys are deleted afterwards."""
    url = _required(REDIS_URL, "Redis", "CHATSHOP_TEST_REDIS_URL")
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = Redis.from_url(url)
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs on SQLite and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


async def _shop(url: str, clock: FakeClock) -> Shop:
    shop = build_shop(Settings(database_url=url), clock=clock)
    await upgrade(shop.db)
    return shop


@pytest.fixture
async def shop(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Shop]:
    """A migrated shop on a fresh SQLite file."""
    built = await _shop(sqlite_url, clock)
    yield built
    await built.db.dispose()


@pytest.fixture
async def any_shop(database_url: str, clock: FakeClock) -> AsyncIterator[Shop]:
    """A migrated shop on SQLite and, where configured, PostgreSQL."""
    built = await _shop(database_url, clock)
    yield built
    await built.db.dispose()


def row(sku: str, **overrides: object) -> CatalogRow:
    """A valid catalog row for tests, with fields overridden by keyword."""
    values: dict[str, object] = {
        "line": 2,
        "sku": sku,
        "title": f"Product {sku}",
        "description": "",
        "price": 1_000,
        "currency": "USD",
        "stock": 10,
        "category": "Things",
        "image_url": None,
        "digital": False,
        "titles": {},
        "descriptions": {},
        "categories": {},
    }
    values.update(overrides)
    if values["image_url"] and "image_urls" not in overrides:  # the main photo, and no other
        values["image_urls"] = (values["image_url"],)
    return CatalogRow(**values)  # type: ignore[arg-type]
