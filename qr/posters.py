"""Printable posters (A4 and A6; PNG or PDF) that open the chat on a product, category, promo or the shop.

Top to bottom: the shop's name on a dark band; the product's photo (or a neat
placeholder), its name and price — or, for a category, promo or the shop, a
large headline; then one card per channel with its code, a caption ("Scan to
buy in Telegram") and the handle for people who type rather than scan. The
layout is drawn in millimetres of an A4 page and scaled, so an A6 poster is
the A4 one at half size. Text is set in the bundled DejaVu Sans (Latin and
Cyrillic) and shrinks or wraps to fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from PIL import Image, ImageDraw, ImageOps

from qr.codes import MM_PER_INCH, draw
from qr.errors import QrError
from qr.links import channel_name
from qr.typeface import Font, fit
from shop.attribution import Destination
from shop.deeplink import TargetKind
from shop.i18n import N_, Language
from shop.models import Channel, PromoKind


class Paper(StrEnum):
    """The poster's paper size."""

    A4 = "a4"
    A6 = "a6"


PAPER_MM = {Paper.A4: (210.0, 297.0), Paper.A6: (105.0, 148.0)}
DESIGN_WIDTH_MM = 210.0  # the layout below is in millimetres of an A4 page
# The caption under a code; {channel} is "Telegram" or "WhatsApp".
_CAPTIONS = {
    TargetKind.PRODUCT: N_("Scan to buy in {channel}"),
    TargetKind.PROMO: N_("Scan to get the discount in {channel}"),
}
_OPEN_CAPTION = N_("Scan to shop in {channel}")

WHITE = (255, 255, 255)
INK = (15, 23, 42)
MUTED = (100, 116, 139)
BAND = (30, 41, 59)
PANEL = (241, 245, 249)
PLACEHOLDER = (203, 213, 225)
PRICE = (190, 18, 60)
CHANNEL_COLOURS = {Channel.TELEGRAM: (34, 158, 217), Channel.WHATSAPP: (18, 140, 126)}

MARGIN = 14.0
BAND_HEIGHT = 24.0
GAP = 8.0


@dataclass(frozen=True, slots=True)
class PosterCode:
    """One channel's code on a poster."""

    channel: Channel
    link: str
    caption: str  # "Scan to buy in Telegram"
    handle: str = ""  # "t.me/chatshop_bot", for people who type


@dataclass(frozen=True, slots=True)
class Poster:
    """What a poster says; `wants_photo` draws the photo or, without one, a placeholder."""

    shop_name: str
    headline: str
    codes: Sequence[PosterCode]
    lines: Sequence[str] = field(default_factory=tuple)
    price: str | None = None
    photo: Image.Image | None = None
    wants_photo: bool = False


@dataclass(frozen=True, slots=True)
class _Style:
    """How a piece of text is set: its size range in mm, lines, weight and colour."""

    largest: float
    smallest: float
    max_lines: int = 1
    bold: bool = False
    fill: tuple[int, int, int] = INK


SHOP_NAME = _Style(11, 6, bold=True, fill=WHITE)
TITLE = _Style(11, 6, max_lines=2, bold=True)
PRICE_TEXT = _Style(16, 8, bold=True, fill=PRICE)
HEADLINE = _Style(30, 10, max_lines=3, bold=True)
NOTE = _Style(8, 4.5, max_lines=3, fill=MUTED)
CAPTION = _Style(5.2, 3.4, max_lines=2, bold=True)
HANDLE = _Style(4.2, 2.8, fill=MUTED)


class _Page:
    """A page being drawn, measured in design millimetres."""

    def __init__(self, paper: Paper, dpi: int) -> None:
        width_mm, height_mm = PAPER_MM[paper]
        self.scale = width_mm / DESIGN_WIDTH_MM * dpi / MM_PER_INCH  # px per design mm
        self.width = DESIGN_WIDTH_MM
        self.height = height_mm * DESIGN_WIDTH_MM / width_mm
        size = (round(width_mm / MM_PER_INCH * dpi), round(height_mm / MM_PER_INCH * dpi))
        self.image = Image.new("RGB", size, WHITE)
        self.pen = ImageDraw.Draw(self.image)

    def px(self, mm: float) -> int:
        """Return design millimetres in pixels."""
        return round(mm * self.scale)

    def box(self, left: float, top: float, right: float, bottom: float) -> tuple[int, ...]:
        """Return a rectangle in pixels."""
        return (self.px(left), self.px(top), self.px(right), self.px(bottom))

    def measure(self, text: str, style: _Style, width: float) -> float:
        """Return the height `text` takes in `style` within `width`, in mm."""
        face, lines = self._fit(text, style, width)
        return _line_height(face) * len(lines) / self.scale

    def write(self, text: str, style: _Style, *, top: float, left: float, width: float) -> float:
        """Set `text` centred in the column from `left`, `width` wide; return its height in mm."""
        face, lines = self._fit(text, style, width)
        leading = _line_height(face)
        for index, line in enumerate(lines):
            middle = (self.px(left + width / 2), self.px(top) + round(leading * (index + 0.5)))
            self.pen.text(middle, line, font=face, fill=style.fill, anchor="mm")
        return leading * len(lines) / self.scale

    def _fit(self, text: str, style: _Style, width: float) -> tuple[Font, list[str]]:
        return fit(
            text,
            width=self.px(width),
            max_lines=style.max_lines,
            largest=self.px(style.largest),
            smallest=max(1, self.px(style.smallest)),
            bold=style.bold,
        )


def render(poster: Poster, paper: Paper, dpi: int) -> Image.Image:
    """Draw the poster on `paper` at `dpi`; return the RGB picture.

    Raises:
        QrError: at this DPI a code would get less than two pixels per module.
    """
    page = _Page(paper, dpi)
    page.pen.rectangle(page.box(0, 0, page.width, BAND_HEIGHT), fill=BAND)
    width = page.width - 2 * MARGIN
    name_height = page.measure(poster.shop_name, SHOP_NAME, width)
    page.write(
        poster.shop_name, SHOP_NAME, top=(BAND_HEIGHT - name_height) / 2, left=MARGIN, width=width
    )
    codes_top = _codes(page, poster.codes)
    top, bottom = BAND_HEIGHT + GAP, codes_top - GAP
    if poster.wants_photo:
        _product(page, poster, top, bottom)
    else:
        _headline(page, poster, top, bottom)
    return page.image


def _codes(page: _Page, codes: Sequence[PosterCode]) -> float:
    """Draw a card per code along the bottom; return where the cards start, in mm."""
    if not codes:
        raise QrError("a poster needs at least one channel's code")
    count, gap, pad = len(codes), 10.0, 3.0
    card = min(96.0, (page.width - 2 * MARGIN - gap * (count - 1)) / count)
    side = card - 10.0  # the code; its quiet zone is the card's white margin
    text_width = card - 2 * pad
    caption_height = max(page.measure(code.caption, CAPTION, text_width) for code in codes)
    handle_height = 6.0 if any(code.handle for code in codes) else 0.0
    height = pad + side + caption_height + handle_height + pad
    top = page.height - MARGIN - height
    left = (page.width - count * card - gap * (count - 1)) / 2
    for code in codes:
        colour = CHANNEL_COLOURS.get(code.channel, INK)
        page.pen.rounded_rectangle(
            page.box(left, top, left + card, top + height),
            radius=page.px(4),
            outline=colour,
            width=max(2, page.px(1.0)),
        )
        picture = draw(code.link, page.px(side)).convert("RGB")
        page.image.paste(picture, (page.px(left + (card - side) / 2), page.px(top + pad)))
        y = top + pad + side
        caption = replace(CAPTION, fill=colour)
        page.write(code.caption, caption, top=y, left=left + pad, width=text_width)
        if code.handle:
            y += caption_height + 0.5
            page.write(code.handle, HANDLE, top=y, left=left + pad, width=text_width)
        left += card + gap
    return top


def _product(page: _Page, poster: Poster, top: float, bottom: float) -> None:
    """Draw the photo (or placeholder) in the room left above the name and the price."""
    width = page.width - 2 * MARGIN
    price_height = page.measure(poster.price, PRICE_TEXT, width) if poster.price else 0.0
    title_height = page.measure(poster.headline, TITLE, width)
    text_top = bottom - price_height - title_height - 2
    if text_top - GAP - top >= 30:
        _photo(page, poster.photo, (MARGIN, top, page.width - MARGIN, text_top - GAP))
    else:  # no room for a photo worth the name: centre the text instead
        text_top = top + (bottom - top - price_height - title_height) / 2
    page.write(poster.headline, TITLE, top=text_top, left=MARGIN, width=width)
    if poster.price:
        page.write(
            poster.price, PRICE_TEXT, top=text_top + title_height + 2, left=MARGIN, width=width
        )


def _photo(page: _Page, photo: Image.Image | None, area: tuple[float, float, float, float]) -> None:
    """Draw the photo fitted into `area` on a light panel, or a placeholder picture."""
    left, top, right, bottom = area
    page.pen.rounded_rectangle(page.box(*area), radius=page.px(5), fill=PANEL)
    inner = (page.px(right - left - 8), page.px(bottom - top - 8))
    if photo is not None and min(inner) > 0:
        fitted = ImageOps.contain(photo, inner, Image.Resampling.LANCZOS)
        x = page.px((left + right) / 2) - fitted.width // 2
        y = page.px((top + bottom) / 2) - fitted.height // 2
        page.image.paste(fitted, (x, y))
        return
    # A picture frame with a mountain and a sun: "no photo", in any language.
    size = min(right - left, bottom - top) * 0.42
    cx, cy = (left + right) / 2, (top + bottom) / 2
    fl, ft, fr, fb = cx - size / 2, cy - size * 0.38, cx + size / 2, cy + size * 0.38
    page.pen.rounded_rectangle(
        page.box(fl, ft, fr, fb),
        radius=page.px(size * 0.08),
        outline=PLACEHOLDER,
        width=max(2, page.px(size * 0.045)),
    )
    ridge = [(0.1, 0.9), (0.38, 0.42), (0.6, 0.66), (0.72, 0.5), (0.9, 0.9)]
    height = fb - ft
    page.pen.polygon(
        [(page.px(fl + size * x), page.px(ft + height * y)) for x, y in ridge], fill=PLACEHOLDER
    )
    sun, sx, sy = size * 0.09, fr - size * 0.26, ft + height * 0.3
    page.pen.ellipse(page.box(sx - sun, sy - sun, sx + sun, sy + sun), fill=PLACEHOLDER)


def _headline(page: _Page, poster: Poster, top: float, bottom: float) -> None:
    """Draw a large headline and its lines, centred in the room above the codes."""
    width = page.width - 2 * MARGIN
    head = page.measure(poster.headline, HEADLINE, width)
    heights = [page.measure(line, NOTE, width) for line in poster.lines]
    total = head + sum(heights) + 4 * len(heights)
    y = top + max(0.0, (bottom - top - total) / 2)
    y += page.write(poster.headline, HEADLINE, top=y, left=MARGIN, width=width) + 4
    for line in poster.lines:
        y += page.write(line, NOTE, top=y, left=MARGIN, width=width) + 4


def _line_height(face: Font) -> float:
    """Return the distance between lines for a font, in pixels."""
    ascent, descent = face.getmetrics()
    return (ascent + descent) * 1.12


def compose(
    destination: Destination,
    codes: Sequence[tuple[Channel, str, str]],
    *,
    shop_name: str,
    locale: str,
    currency: str,
    photo: Image.Image | None = None,
) -> Poster:
    """Say on a poster what `destination` opens, in `locale`; `codes` are (channel, link, handle).

    `currency` is the shop's, for a promo's minimum order.
    """
    target, kind = destination.target, destination.target.kind
    lang = Language.of(locale)
    _ = lang._
    caption = _CAPTIONS.get(kind, _OPEN_CAPTION)
    poster_codes = [
        PosterCode(channel, link, _(caption).format(channel=channel_name(channel)), handle)
        for channel, link, handle in codes
    ]
    product, category, promo = destination.product, destination.category, destination.promo
    if product is not None:
        return Poster(
            shop_name=shop_name,
            headline=product.title_for(locale),
            codes=poster_codes,
            price=lang.money(product.price, product.currency),
            photo=photo,
            wants_photo=True,
        )
    if category is not None:
        headline, lines = category.name_for(locale), [_("The whole shelf is in our chat")]
    elif promo is not None:
        if promo.kind == PromoKind.PERCENT:
            headline = f"−{promo.value}%"
        else:
            headline = f"−{lang.money(promo.value, promo.currency or currency)}"
        lines = [_("Promo code {code}").format(code=promo.code)]
        if promo.min_total:
            minimum = lang.money(promo.min_total, promo.currency or currency)
            lines.append(_("on orders from {amount}").format(amount=minimum))
    elif kind is TargetKind.SHOP:
        headline = _("Shop with us in chat")
        lines = [_("Find, order, pay and track your order without leaving the messenger")]
    else:
        raise QrError(f"nothing to put on a poster for {target}")
    return Poster(shop_name=shop_name, headline=headline, codes=poster_codes, lines=lines)
