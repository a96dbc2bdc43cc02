"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import FakeClock
from tests.telegram_support import Harness, telegram_shop


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Harness]:
    """The demo shop with its Telegram channel on a recording session."""
    async with telegram_shop(sqlite_url, clock) as harness:
        yield harness
