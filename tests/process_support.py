"""What tests share about a `chatshop run` subprocess: knowing when it serves."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp


async def until_serving(
    process: asyncio.subprocess.Process, base_url: str, output: Callable[[], str]
) -> None:
    """Wait (a minute at most) until `process` answers GET /healthz at `base_url`; fail if it exits."""
    async with asyncio.timeout(60), aiohttp.ClientSession() as http:
        while True:
            if process.returncode is not None:
                raise AssertionError(f"chatshop run exited: {output()}")
            try:
                async with http.get(f"{base_url}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)  # the next look at an observable condition
