"""Deep-link payloads: what a scanned code opens, and which poster or store it came from.

A payload travels as Telegram's ``start`` parameter (at most 64 characters of
``A-Za-z0-9_-``) and inside WhatsApp's prefilled text. It has one of two forms:

- **inline**, when the value and the source are plain ASCII (``A-Za-z0-9-``)
  and the whole fits in `INLINE_LIMIT` characters: a kind letter and the value,
  the source, and four check characters, joined by ``_``::

      p-TEA-1_poster_cuBn      product TEA-1 from "poster"
      c-Tea_window-2_FSQI      category "Tea" from "window-2"
      d-SUMMER10_flyer_BlYK    promo code SUMMER10 from "flyer"
      s_entrance_hLLf          the shop itself, from "entrance"

  The check characters make a truncated or retyped code fail instead of
  opening the wrong product or crediting the wrong poster.
- **registered**, for everything else (long or non-Latin skus, category
  names, sources): ``r-`` and eight characters derived from the target and the
  source (`short_code`), kept in the ``qr_code`` table, which
  `shop.attribution` writes and reads. The same target and source always give
  the same code, so printing a poster again gives the same picture.

`parse` never raises: text that holds no valid code yields `UNKNOWN`, and the
caller opens the main menu. It looks for the code anywhere in the text, so a
WhatsApp message the customer added words to still works.

The codec sits in the shop core because attribution needs it (what a scan
means is domain knowledge); `qr/` builds the links and pictures on top of it.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from shop.plaintext import control_in
from shop.promos import normalize_code

TELEGRAM_LIMIT = 64  # Telegram's limit on the start parameter
# Longer inline codes are registered instead: a short payload keeps the printed
# QR code coarse (big modules) and easy to scan from a distance.
INLINE_LIMIT = 40
MAX_SOURCE = 64  # the width of Customer.first_source and AnalyticsEvent.source
CHECK_LENGTH = 4
SHORT_LENGTH = 8
SHORT_PREFIX = "r-"
MAX_INPUT = 4096  # no message is longer; never scan more than this

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PLAIN = re.compile(r"[A-Za-z0-9-]+")
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_-])"
    rf"(?:r-(?P<short>[A-Za-z0-9]{{{SHORT_LENGTH}}})"
    rf"|(?P<body>(?:[pcd]-[A-Za-z0-9-]+|s)(?:_[A-Za-z0-9-]+)?)_(?P<check>[A-Za-z0-9]{{{CHECK_LENGTH}}}))"
    r"(?![A-Za-z0-9_-])"
)


class TargetKind(StrEnum):
    """What a code opens."""

    PRODUCT = "product"
    CATEGORY = "category"
    PROMO = "promo"
    SHOP = "shop"
    UNKNOWN = "unknown"  # nothing we can read: open the main menu


# The longest value of each kind: the widths of product.sku, category.name, promo_code.code.
MAX_VALUE = {
    TargetKind.PRODUCT: 64,
    TargetKind.CATEGORY: 200,
    TargetKind.PROMO: 32,
    TargetKind.SHOP: 0,
}
_LETTER = {
    TargetKind.PRODUCT: "p",
    TargetKind.CATEGORY: "c",
    TargetKind.PROMO: "d",
    TargetKind.SHOP: "s",
}
_KIND = {letter: kind for kind, letter in _LETTER.items()}


class PayloadError(ValueError):
    """A target or source that no code can carry (empty, too long, control characters)."""


@dataclass(frozen=True, slots=True)
class Target:
    """What to open: a product by sku, a category by name, a promo code, or the shop."""

    kind: TargetKind
    value: str = ""

    @classmethod
    def product(cls, sku: str) -> Target:
        """Return the target that opens a product."""
        return cls(TargetKind.PRODUCT, sku.strip())

    @classmethod
    def category(cls, name: str) -> Target:
        """Return the target that opens a category, by its base name."""
        return cls(TargetKind.CATEGORY, name.strip())

    @classmethod
    def promo(cls, code: str) -> Target:
        """Return the target that applies a promo code."""
        return cls(TargetKind.PROMO, normalize_code(code))

    @classmethod
    def shop(cls) -> Target:
        """Return the target that opens the shop's main menu."""
        return cls(TargetKind.SHOP)


UNKNOWN = Target(TargetKind.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Scan:
    """What a code says: the target, and the source (poster, store, campaign) it was printed for."""

    target: Target
    source: str | None = None


@dataclass(frozen=True, slots=True)
class ShortCode:
    """A registered code: what it stands for is in the qr_code table."""

    code: str


def make_scan(target: Target, source: str | None) -> Scan:
    """Check that a code can carry `target` and `source`, and return them as a Scan.

    The source is trimmed; an empty one means none.

    Raises:
        PayloadError: the target is unknown, its value is empty or too long, or the
            value or source holds control characters or is longer than its column.
    """
    kind, value = target.kind, target.value
    if kind is TargetKind.UNKNOWN:
        raise PayloadError("an unknown target cannot be encoded")
    if kind is TargetKind.SHOP:
        if value:
            raise PayloadError("the shop target takes no value")
    else:
        _check_text(f"{kind.value}", value, MAX_VALUE[kind])
    cleaned = source.strip() if source is not None else None
    if cleaned:
        _check_text("source", cleaned, MAX_SOURCE)
    return Scan(target, cleaned or None)


def inline(scan: Scan) -> str | None:
    """Return the inline payload for a checked scan, or None when it must be registered."""
    target = scan.target
    if target.kind is TargetKind.SHOP:
        head = "s"
    elif _PLAIN.fullmatch(target.value):
        head = f"{_LETTER[target.kind]}-{target.value}"
    else:
        return None
    if scan.source is not None and not _PLAIN.fullmatch(scan.source):
        return None
    body = head if scan.source is None else f"{head}_{scan.source}"
    code = f"{body}_{_check(body)}"
    return code if len(code) <= INLINE_LIMIT else None


def short_code(scan: Scan, attempt: int = 0) -> str:
    """Return the registered payload for a checked scan: ``r-`` and eight characters.

    Derived from the target and source alone; `attempt` picks another code in the
    (astronomically rare) case that one is taken by something else.
    """
    key = json.dumps([attempt, scan.target.kind.value, scan.target.value, scan.source])
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return SHORT_PREFIX + _base62(int.from_bytes(digest[:8], "big"), SHORT_LENGTH)


def parse(text: str | None) -> Scan | ShortCode:
    """Find the first valid code in `text`; never raises.

    Returns the Scan of an inline code, the ShortCode of a registered one (to look
    up), or a Scan of `UNKNOWN` when the text holds no valid code.
    """
    match = _first(text)
    if match is None:
        return Scan(UNKNOWN)
    short = match.group("short")
    return ShortCode(SHORT_PREFIX + short) if short is not None else _from_body(match["body"])


def find(text: str | None) -> str | None:
    """Return the first valid code in `text` as it is written there (a prefilled greeting's code)."""
    match = _first(text)
    return None if match is None else match.group(0)


def _first(text: str | None) -> re.Match[str] | None:
    """Return the first match in `text` that is a registered code's form or checks out."""
    for match in _TOKEN.finditer(text[:MAX_INPUT] if text else ""):
        if match.group("short") is not None or match.group("check") == _check(match["body"]):
            return match
    return None


def _from_body(body: str) -> Scan:
    """Read an inline code's body (its check already verified)."""
    head, _, source = body.partition("_")
    kind = _KIND[head[0]]
    return Scan(Target(kind, head[2:]), source or None)


def _check(body: str) -> str:
    """Return the four check characters of an inline code's body."""
    digest = hashlib.sha256(body.encode("ascii")).digest()
    return _base62(int.from_bytes(digest[:8], "big"), CHECK_LENGTH)


def _base62(number: int, length: int) -> str:
    """Return the last `length` base-62 digits of `number`."""
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def _check_text(what: str, text: str, limit: int) -> None:
    """Refuse an empty, untrimmed, too long or unprintable value."""
    if not text:
        raise PayloadError(f"{what}: empty")
    if text != text.strip():
        raise PayloadError(f"{what} {text!r}: leading or trailing spaces")
    if len(text) > limit:
        raise PayloadError(f"{what} {text!r}: longer than {limit} characters")
    if control_in(text) is not None or any(unicodedata.category(c) == "Cs" for c in text):
        raise PayloadError(f"{what} {text!r}: control characters")
