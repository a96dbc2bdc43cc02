"""Deep-link decoding for the start flow.

`poster_codes` reads the codes `chatshop qr` prints (`shop/deeplink.py`, with their
check characters and registered short forms). Links written by hand in the simple
forms `p-<SKU>`, `c-<category id>`, `promo-<CODE>`, `s-<source>` (each may end in
`_s-<source>`) are understood too; anything else opens the main menu.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.flows.context import DeepLink, PayloadDecoder
from shop.attribution import AttributionService
from shop.deeplink import TargetKind

_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SOURCE = "_s-"


async def decode_builtin(payload: str) -> DeepLink | None:
    """Return what a payload of the built-in forms opens, or None for anything else."""
    if not _PAYLOAD.fullmatch(payload):
        return None
    if payload.startswith("s-"):
        body, source = "", payload[2:]
    else:
        body, found, source = payload.rpartition(_SOURCE)
        if not found:
            body, source = payload, ""
        elif not source:
            return None
    if not body:
        return DeepLink(source=source) if source else None
    link = _target(body)
    return None if link is None else replace(link, source=source or None)


def _target(body: str) -> DeepLink | None:
    """Return what `kind-value` opens."""
    kind, _, value = body.partition("-")
    if not value:
        return None
    if kind == "p":
        return DeepLink(product_sku=value)
    if kind == "c" and value.isdecimal() and len(value) <= 9:
        return DeepLink(category_id=int(value))
    if kind == "promo":
        return DeepLink(promo=value.upper())
    return None


def poster_codes(attribution: AttributionService) -> PayloadDecoder:
    """Return a deep-link decoder that reads the codes `chatshop qr` prints (shop/deeplink.py).

    Hand-written links of the simple forms are still understood; anything else is
    unknown, and the conversation opens the main menu.
    """

    async def decode(payload: str) -> DeepLink | None:
        scan = await attribution.decode(payload)
        target, source = scan.target, scan.source
        if target.kind is TargetKind.PRODUCT:
            return DeepLink(product_sku=target.value, source=source)
        if target.kind is TargetKind.CATEGORY:
            return DeepLink(category_name=target.value, source=source)
        if target.kind is TargetKind.PROMO:
            return DeepLink(promo=target.value, source=source)
        if target.kind is TargetKind.SHOP:
            return DeepLink(source=source)
        return await decode_builtin(payload)

    return decode
