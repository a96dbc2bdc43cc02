"""Language: English or Russian; until the customer picks one, the messenger's language is used."""

from __future__ import annotations

from dataclasses import replace

from bot.flows import actions as a
from bot.flows.common import main_menu, menu_button
from bot.flows.context import Ctx
from bot.flows.errors import StaleInputError
from bot.flows.router import FlowRouter
from bot.flows.types import Button, Reply
from shop.i18n import LOCALES, Language

router = FlowRouter("language")

# Each language by its own name: these are never translated.
ENDONYMS = {"en": "English", "ru": "Русский"}


@router.command("language")
@router.press(a.LANGUAGE)
async def ask_language(ctx: Ctx, _arg: str) -> list[Reply]:
    """Offer the languages the shop speaks."""
    rows = [[Button(ENDONYMS[code], a.SET_LANGUAGE, code)] for code in LOCALES]
    rows.append([menu_button(ctx)])
    return [ctx.text(ctx._("Choose your language:"), rows)]


@router.press(a.SET_LANGUAGE)
async def set_language(ctx: Ctx, arg: str) -> list[Reply]:
    """Speak the chosen language from now on."""
    if arg not in LOCALES:
        raise StaleInputError(arg)
    await ctx.shop.customers.set_locale(ctx.customer_id, arg)
    ctx.customer = replace(ctx.customer, locale=arg)
    ctx.lang = Language(arg)
    return [await main_menu(ctx, ctx._("Done: I'll speak English from now on."))]
