"""What every command group shares: the shop the environment names, consoles, and output rules."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.app import running_shop
from bot.services import Shop
from bot.settings import Settings
from shop.plaintext import visible

T = TypeVar("T")

out = Console(highlight=False)
err = Console(stderr=True)


class CommandError(Exception):
    """A failure to report as one line and a non-zero exit."""


def with_shop(work: Callable[[Shop], Awaitable[T]]) -> T:
    """Build the shop from the environment, bring its schema up to date, run `work`, close it all."""

    async def main() -> T:
        async with running_shop(Settings()) as shop:
            return await work(shop)

    return asyncio.run(main())


def shown(text: str) -> str:
    """Return stored or typed text for rich markup: escape codes shown, never obeyed."""
    return escape(visible(text))


def print_json(document: object) -> None:
    """Write one JSON document on stdout; control characters in it stay escaped."""
    sys.stdout.write(visible(json.dumps(document, ensure_ascii=False)) + "\n")


def write_out(data: bytes, output: Path | None) -> None:
    """Write data to the file `output` names, or to stdout without one."""
    if output is None:
        sys.stdout.buffer.write(data)
        return
    try:
        output.write_bytes(data)
    except OSError as error:
        raise CommandError(f"cannot write {output}: {error.strerror}") from None


def iso(moment: datetime | None) -> str | None:
    """Return an aware time as ISO 8601 for JSON, or None."""
    return None if moment is None else moment.isoformat()


def progress() -> Progress:
    """Return a progress bar on stderr, so stdout stays clean for data."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,  # no bar in logs and pipes
    )
