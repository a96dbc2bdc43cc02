"""The `chatshop` command line: one module per command group, put together in `bot.cli.app`."""

from bot.cli.app import main

__all__ = ["main"]
