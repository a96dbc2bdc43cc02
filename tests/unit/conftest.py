"""What the unit tests of the flows share: a shop with the small test catalog on sale."""

from __future__ import annotations

import pytest

from bot.services import Shop
from tests.flow_support import stock_the_shop


@pytest.fixture
async def stocked(shop: Shop) -> Shop:
    """A migrated shop with tests.flow_support.CATALOG on sale."""
    await stock_the_shop(shop)
    return shop
