"""QR code pictures for print: PNG, SVG and PDF, from the symbol the `qrcode` library computes.

- Error correction Q: a quarter of the symbol can be lost to scuffs, glare or a
  folded corner and the code still reads.
- A quiet zone of four modules of white on every side, as ISO/IEC 18004 asks.
- Sizes in pixels, or in millimetres at a DPI: PNGs carry the DPI, so they print
  at the size asked. Every module is a whole number of pixels (sharp edges for
  scanners); what is left over widens the quiet zone.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

import qrcode
from PIL import Image, ImageDraw
from qrcode.exceptions import DataOverflowError

from qr.errors import QrError
from qr.typeface import font

QUIET_ZONE = 4
MIN_MODULE_PX = 2  # thinner modules blur in print and in phone cameras
MM_PER_INCH = 25.4
DEFAULT_DPI = 300
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(px|mm|cm|in)?\s*", re.IGNORECASE)
_TO_MM = {"mm": 1.0, "cm": 10.0, "in": MM_PER_INCH}


@dataclass(frozen=True, slots=True)
class Size:
    """A length in pixels (`unit` "px") or millimetres (`unit` "mm")."""

    value: float
    unit: str = "px"

    def pixels(self, dpi: int) -> int:
        """Return the length in whole pixels at `dpi`."""
        if self.unit == "px":
            return round(self.value)
        return round(self.value / MM_PER_INCH * dpi)

    def svg(self) -> str:
        """Return the length as an SVG width or height ("40mm", "600")."""
        return f"{self.value:g}mm" if self.unit == "mm" else f"{self.value:g}"

    def scaled(self, factor: float) -> Size:
        """Return this length times `factor`."""
        return Size(self.value * factor, self.unit)


def parse_size(text: str) -> Size:
    """Read "600", "600px", "40mm", "4cm" or "1.5in"; raise QrError otherwise."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise QrError(f"size {text!r}: use pixels or a length, like 600px, 40mm or 1.5in")
    number, unit = float(match.group(1)), (match.group(2) or "px").lower()
    size = Size(number, "px") if unit == "px" else Size(number * _TO_MM[unit], "mm")
    if size.value <= 0 or size.value > (20_000 if unit == "px" else 2_000):
        raise QrError(f"size {text!r} is out of range")
    return size


@lru_cache(maxsize=256)
def symbol(data: str) -> tuple[tuple[bool, ...], ...]:
    """Return the code's modules (True is dark), without the quiet zone."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, border=0)
    try:
        code.add_data(data)
        code.make(fit=True)
    except DataOverflowError:
        raise QrError(f"{len(data)} characters do not fit in a QR code") from None
    return tuple(tuple(row) for row in code.get_matrix())


def modules_across(data: str) -> int:
    """Return how many modules wide the code is, quiet zone included."""
    return len(symbol(data)) + 2 * QUIET_ZONE


def draw(data: str, size_px: int) -> Image.Image:
    """Return a `size_px`-square greyscale picture of the code, quiet zone included.

    Raises:
        QrError: the size leaves less than two pixels per module.
    """
    modules = symbol(data)
    count = len(modules)
    module_px = size_px // (count + 2 * QUIET_ZONE)
    if module_px < MIN_MODULE_PX:
        needed = MIN_MODULE_PX * (count + 2 * QUIET_ZONE)
        raise QrError(
            f"{size_px} px is too small for this code: it needs at least {needed} px "
            f"({count + 2 * QUIET_ZONE} modules of {MIN_MODULE_PX} px)"
        )
    small = Image.new("L", (count, count), 255)
    small.putdata([0 if dark else 255 for row in modules for dark in row])
    big = small.resize((count * module_px, count * module_px), Image.Resampling.NEAREST)
    picture = Image.new("L", (size_px, size_px), 255)
    offset = (size_px - count * module_px) // 2
    picture.paste(big, (offset, offset))
    return picture


def png(picture: Image.Image, dpi: int) -> bytes:
    """Return a picture as PNG bytes that print at `dpi`."""
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", dpi=(dpi, dpi))
    return buffer.getvalue()


def pdf(picture: Image.Image, dpi: int, *, title: str = "") -> bytes:
    """Return a picture as a one-page PDF whose page is the picture's size at `dpi`."""
    buffer = io.BytesIO()
    # JPEG inside the PDF at high quality and without chroma subsampling: edges stay sharp.
    picture.convert("RGB").save(
        buffer, "PDF", resolution=dpi, quality=95, subsampling=0, title=title, creator="chatshop"
    )
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class Labelled:
    """A code with a caption under it (on a sheet of several codes)."""

    data: str
    caption: str


def sheet(codes: Sequence[Labelled], size_px: int) -> Image.Image:
    """Return codes side by side, each `size_px` square with its caption under it."""
    if len(codes) == 1 and not codes[0].caption:
        return draw(codes[0].data, size_px)
    caption_px = max(12, size_px // 12)
    face = font(caption_px)
    band = caption_px * 2
    picture = Image.new("L", (size_px * len(codes), size_px + band), 255)
    pen = ImageDraw.Draw(picture)
    for index, code in enumerate(codes):
        left = index * size_px
        picture.paste(draw(code.data, size_px), (left, 0))
        middle = (left + size_px / 2, size_px + band / 2 - caption_px / 2)
        pen.text(middle, code.caption, font=face, fill=0, anchor="mm")
    return picture


def svg(codes: Sequence[Labelled], size: Size) -> str:
    """Return codes side by side as SVG (vector), each `size` square, with captions if several.

    The drawing's unit is one module of the densest code; each code is scaled to
    fill its square.
    """
    count = len(codes)
    captions = count > 1 or bool(codes and codes[0].caption)
    unit = max(modules_across(code.data) for code in codes)
    band = unit / 6 if captions else 0
    width, height = unit * count, unit + band
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{size.scaled(count).svg()}" '
        f'height="{size.scaled(height / unit).svg()}" viewBox="0 0 {width:g} {height:g}" '
        'shape-rendering="crispEdges">',
        f'<rect width="{width:g}" height="{height:g}" fill="#fff"/>',
    ]
    for index, code in enumerate(codes):
        across = modules_across(code.data)
        scale = unit / across
        parts.append(
            f'<path transform="translate({index * unit:g} 0) scale({scale:.6g})" '
            f'fill="#000" d="{_path(symbol(code.data))}"/>'
        )
        if captions:
            parts.append(
                f'<text x="{index * unit + unit / 2:g}" y="{unit + band * 0.6:g}" '
                f'font-family="DejaVu Sans, Arial, sans-serif" font-size="{band / 2.4:.3g}" '
                f'text-anchor="middle" fill="#000">{escape(code.caption)}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _path(modules: tuple[tuple[bool, ...], ...]) -> str:
    """Return an SVG path drawing each row's runs of dark modules, offset by the quiet zone."""
    steps = []
    for y, row in enumerate(modules):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            steps.append(f"M{start + QUIET_ZONE} {y + QUIET_ZONE}h{x - start}v1h{start - x}z")
    return "".join(steps)
