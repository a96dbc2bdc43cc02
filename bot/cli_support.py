"""What the command line's groups share: running work against the shop the environment names."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.services import Shop
from bot.settings import Settings
from bot.wiring import build_shop
from shop.migrate import upgrade

T = TypeVar("T")


def with_shop(work: Callable[[Shop], Awaitable[T]]) -> T:
    """Build the shop from the environment, bring its schema up to date, run `work`, close it all."""

    async def main() -> T:
        shop = build_shop(Settings())
        try:
            await upgrade(shop.db)
            return await work(shop)
        finally:
            await shop.payments.close()
            await shop.db.dispose()

    return asyncio.run(main())
