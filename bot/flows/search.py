"""Search: free text finds the best products, forgiving typos, and offers "did you mean" phrases.

Filters may be typed with the words (shop/filter_phrases.py): "coffee under 10"
searches "coffee" up to 10 in the shop's money; a phrase alone ("cheapest first",
"в наличии", a brand the list holds) changes the list the customer looked at last,
or lists every product when there is none. A phrase that is part of a product's
name is no filter: when a product titled with it is found ("In Stock Tee"), the
text is searched as typed. Results are a list of pages (bot/flows/browse.py).
"""

from __future__ import annotations

from collections import defaultdict

from bot.flows import actions as a
from bot.flows import lists
from bot.flows.browse import counted_page
from bot.flows.common import menu_button, search_button
from bot.flows.context import Ctx
from bot.flows.router import FlowRouter
from bot.flows.types import Reply
from shop.analytics import EventKind
from shop.filter_phrases import Phrases, read_phrases
from shop.filters import Filters
from shop.text import words

router = FlowRouter("search")

ASKING = "search.query"
QUERY_WIDTH = 200
TITLES_CHECKED = 5  # the best hits whose titles may hold a phrase typed as a filter


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
    """Show the first page of products for typed text, or apply filters typed in words."""
    query = " ".join(text.split())[:QUERY_WIDTH]
    ctx.state.step = ""
    latest = lists.latest(ctx)
    known: defaultdict[str, list[str]] = defaultdict(list)
    for name, value in latest.choices if latest is not None else ():
        known[name].append(value)
    said = read_phrases(query, ctx.shop.settings.shop_currency, known)
    if not said.asks or await _names_a_product(ctx, query, said):
        listing = lists.opened(ctx, query, Filters())
    elif said.query:
        listing = lists.opened(ctx, said.query, said.applied_to(Filters()))
    elif latest is not None:  # a phrase alone: the list on screen, narrowed or sorted
        listing = latest
        listing.filters = said.applied_to(latest.filters)
    else:
        listing = lists.opened(ctx, "", said.applied_to(Filters()))
    page, total = await counted_page(ctx, listing, 1)
    if listing.query:
        await ctx.record(EventKind.SEARCH, value=total, data={"query": query})
    return [page]


async def _names_a_product(ctx: Ctx, query: str, said: Phrases) -> bool:
    """Tell whether a phrase read as a filter is words of a product's title the text finds."""
    if not said.said:  # attribute values alone: products' words by nature, filters on purpose
        return False
    found = await ctx.shop.search.suggest(query, TITLES_CHECKED, ctx.locale)
    titles = [
        f" {' '.join(words(title))} "
        for hit in found.hits
        for title in (hit.product.title, *hit.product.titles.values())
    ]
    phrases = [f" {' '.join(words(phrase))} " for phrase in said.said]
    return any(phrase in title for phrase in phrases for title in titles if phrase.strip())
