"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.conftest import FakeClock
from tests.payment_support import Served, served_shop
from tests.telegram_support import Harness, telegram_shop


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Harness]:
    """The demo shop with its Telegram channel on a recording session."""
    async with telegram_shop(sqlite_url, clock) as harness:
        yield harness


@pytest.fixture
async def served(database_url: str, clock: FakeClock) -> AsyncIterator[Served]:
    """A migrated shop serving its web routes on loopback, on SQLite and PostgreSQL."""
    async with served_shop(database_url, clock) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client, as a provider or a customer's browser."""
    async with aiohttp.ClientSession() as session:
        yield session
