"""The font of posters and code sheets (DejaVu Sans, shipped in qr/fonts/ with its licence), and text fitting.

Shipping the font means a poster renders the same Latin and Cyrillic on any
machine, with no system fonts installed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PIL import ImageFont

FONT_DIR = Path(__file__).with_name("fonts")
REGULAR = FONT_DIR / "DejaVuSans.ttf"
BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
ELLIPSIS = "…"

Font = ImageFont.FreeTypeFont


@cache
def font(size_px: int, *, bold: bool = False) -> Font:
    """Return DejaVu Sans (or Sans Bold) at `size_px` pixels to the em."""
    return ImageFont.truetype(str(BOLD if bold else REGULAR), max(1, size_px))


def width_of(text: str, face: Font) -> float:
    """Return how many pixels `text` takes on a line."""
    return face.getlength(text)


def wrap(text: str, face: Font, width: float, max_lines: int) -> list[str] | None:
    """Break `text` into at most `max_lines` lines of at most `width` pixels, or None if it cannot."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if width_of(candidate, face) <= width:
            line = candidate
            continue
        if not line or width_of(word, face) > width:
            return None  # a single word wider than the line
        lines.append(line)
        line = word
    if line:
        lines.append(line)
    return lines if len(lines) <= max_lines else None


def fit(
    text: str, *, width: float, max_lines: int, largest: int, smallest: int, bold: bool = False
) -> tuple[Font, list[str]]:
    """Return the largest font from `largest` down to `smallest` px that fits, and its lines.

    What does not fit even at `smallest` is cut with an ellipsis.
    """
    size = largest
    while size >= smallest:
        face = font(size, bold=bold)
        lines = wrap(text, face, width, max_lines)
        if lines is not None:
            return face, lines
        size = max(smallest, int(size * 0.92)) if size > smallest else smallest - 1
    face = font(smallest, bold=bold)
    return face, _cut(text, face, width, max_lines)


def _cut(text: str, face: Font, width: float, max_lines: int) -> list[str]:
    """Fill `max_lines` lines character by character and end the last with an ellipsis."""
    lines: list[str] = []
    rest = " ".join(text.split())
    while rest and len(lines) < max_lines:
        end = len(rest)
        while end > 1 and width_of(rest[:end], face) > width:
            end -= 1
        cut = rest[:end]
        space = cut.rfind(" ")
        if end < len(rest) and space > 0:
            cut = cut[:space]
        lines.append(cut.strip())
        rest = rest[len(cut) :].strip()
    if rest and lines:
        last = lines[-1]
        while last and width_of(last + ELLIPSIS, face) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + ELLIPSIS
    return lines
