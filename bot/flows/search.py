"""Search: free text finds the best products, forgiving typos, and offers "did you mean" phrases."""

from __future__ import annotations

from bot.flows import actions as a
from bot.flows.catalog import product_buttons
from bot.flows.common import menu_button, search_button
from bot.flows.context import Ctx
from bot.flows.router import FlowRouter
from bot.flows.types import Button, Reply
from shop.analytics import EventKind

router = FlowRouter("search")

ASKING = "search.query"
HITS = 8
QUERY_WIDTH = 200


@router.command("search")
@router.press(a.SEARCH)
async def search_or_ask(ctx: Ctx, arg: str) -> list[Reply]:
    """Search for the phrase given, or ask what to look for."""
    if arg.strip():
        return await search(ctx, arg)
    ctx.state.step = ASKING
    body = ctx._("What are you looking for? Type a word or two — typos are fine.")
    return [ctx.text(body, [[search_button(ctx)], [menu_button(ctx)]], edit=False)]


@router.step(ASKING)
@router.text
async def search(ctx: Ctx, text: str) -> list[Reply]:
    """Show the best products for typed text, with "did you mean" buttons when few match."""
    query = " ".join(text.split())[:QUERY_WIDTH]
    ctx.state.step = ""
    result = await ctx.shop.search.suggest(query, HITS, ctx.locale)
    await ctx.record(EventKind.SEARCH, value=len(result.hits), data={"query": query})
    found = [hit.product for hit in result.hits]
    rows: list[list[Button]] = [[button] for button in product_buttons(ctx, found, 0)]
    suggestions = [
        Button("🔎 " + phrase, a.SEARCH, phrase)
        for phrase in result.did_you_mean
        if len(phrase.encode()) <= a.MAX_ARG_BYTES
    ]
    if rows:
        body = ctx._("Found for «{query}»:").format(query=query)
    else:
        body = ctx._("Nothing found for «{query}».").format(query=query)
    if suggestions:
        body += "\n" + ctx._("Did you mean:")
        rows.extend([button] for button in suggestions)
    rows.append([Button("🛍 " + ctx._("Catalog"), a.CATALOG), menu_button(ctx)])
    return [ctx.text(body, rows, edit=False)]
