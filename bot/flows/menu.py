"""The main menu, and the buttons that only label things."""

from __future__ import annotations

from bot.flows import actions as a
from bot.flows.common import main_menu
from bot.flows.context import Ctx
from bot.flows.router import FlowRouter
from bot.flows.types import Reply

router = FlowRouter("menu")


@router.command("menu")
@router.press(a.MENU)
async def show_menu(ctx: Ctx, _arg: str) -> list[Reply]:
    """Show the main menu."""
    return [await main_menu(ctx)]


@router.press(a.NOOP, within="*")
async def ignore_label(_ctx: Ctx, _arg: str) -> list[Reply]:
    """Answer a press on a label (the page counter) with nothing."""
    return []
