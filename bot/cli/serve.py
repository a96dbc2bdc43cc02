"""`chatshop run`, `worker` and `demo`: the shop serving its channels, its background work alone, or a chat in the terminal."""

from __future__ import annotations

import asyncio
import sys

from bot.cli.common import CommandError, out
from bot.handlers.console import run_demo
from bot.settings import Settings
from bot.web import ListenError


def run() -> None:
    """Start the shop: every channel whose settings are present, the web server, until Ctrl-C."""
    # aiogram takes seconds to import: only the command that runs the channels pays for it.
    from bot import runner  # noqa: PLC0415

    try:
        asyncio.run(runner.run(Settings(), out))
    except ListenError as error:
        raise CommandError(
            f"cannot serve the web routes: {error} (set HTTP_PORT to a free port)"
        ) from None


def worker() -> None:
    """Send what the shop says unasked, expire holds and recover payments, serving nothing: for scale-out."""
    from bot import runner  # noqa: PLC0415  (as in `run`)

    asyncio.run(runner.work(Settings(), out))


def demo() -> None:
    """Shop in the terminal: the same conversations as in Telegram, on the demo catalog, no token needed."""
    try:
        asyncio.run(run_demo(Settings(), sys.stdout))
    except ListenError as error:
        raise CommandError(
            f"cannot serve the payment pages: {error} (set HTTP_PORT to a free port)"
        ) from None
