"""Inline mode: "@bot query" in any chat answers from the shop's search on every keystroke.

Each result shows the product's title in the customer's language, its price and
availability, and its photo where the catalog has one. Choosing a result posts a
short card whose "Open in the shop" button is a deep link into our chat with the
product's code; posted in our own chat, the bot opens the product card at once.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
)

from bot.flows.engine import Conversations, Who
from bot.handlers.telegram.links import INLINE_SOURCE, ShopLinks
from bot.services import Shop
from shop.deeplink import Target, inline, make_scan
from shop.i18n import N_, Language
from shop.views import ProductView

PAGE = 20  # results per answer; the client asks for the next page with `next_offset`
MOST = 100  # results in all, over every page (as many as search ranks)
CACHE_SECONDS = 5  # live stock and prices: Telegram may reuse an answer only briefly
SHOP_CODE = inline(make_scan(Target.shop(), INLINE_SOURCE))


def build_router() -> Router:
    """Return this feature's router."""
    router = Router(name=__name__)
    router.inline_query.register(search)
    return router


async def search(
    query: InlineQuery, who: Who, conversations: Conversations, shop: Shop, links: ShopLinks
) -> None:
    """Answer an inline query with a page of live search results."""
    offset = _offset(query.offset)
    locale = await conversations.locale_of(who)
    found = await shop.search.suggest(query.query, min(offset + PAGE + 1, MOST), locale)
    hits = found.hits[offset : offset + PAGE]
    products = await shop.catalog.products([hit.product.product_id for hit in hits])
    lang = Language(locale)
    results = [
        await _result(products[hit.product.product_id], links, lang)
        for hit in hits
        if hit.product.product_id in products
    ]
    more = len(found.hits) > offset + PAGE and offset + PAGE < MOST
    if results or not query.query.strip():
        label = N_("Open the shop")
    else:
        label = N_("Nothing found: open the shop")
    await query.answer(
        results,  # type: ignore[arg-type]  # a list of articles is a list of results
        cache_time=CACHE_SECONDS,
        is_personal=True,  # titles and prices in this customer's language
        next_offset=str(offset + PAGE) if more else "",
        button=InlineQueryResultsButton(text=lang._(label), start_parameter=SHOP_CODE),
    )


async def _result(
    product: ProductView, links: ShopLinks, lang: Language
) -> InlineQueryResultArticle:
    """Return one product as an inline result: title, price and stock; its photo if it has one."""
    title = product.title_for(lang.locale)
    stock = lang._("in stock") if product.stock > 0 else lang._("out of stock")
    line = f"{lang.money(product.price, product.currency)} · {stock}"
    code = await links.product_code(product.sku)
    opening = InlineKeyboardButton(text=lang._("Open in the shop"), url=links.start_url(code))
    preview = (
        LinkPreviewOptions(url=product.image_url, prefer_large_media=True, show_above_text=True)
        if product.image_url
        else LinkPreviewOptions(is_disabled=True)
    )
    return InlineQueryResultArticle(
        id=f"p{product.id}",
        title=title,
        description=line,
        thumbnail_url=product.image_url,
        input_message_content=InputTextMessageContent(
            message_text=f"{title}\n{line}", link_preview_options=preview
        ),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[opening]]),
    )


def _offset(value: str) -> int:
    """Read the page offset Telegram sends back (ours, but a client may send anything)."""
    return int(value) if value.isdigit() and len(value) <= 3 and int(value) < MOST else 0
