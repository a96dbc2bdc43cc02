"""Short product titles for buttons shown together, which never read the same for different products.

A button has room for about forty characters, and catalog titles often differ only
at their end ("Наушники Sony WH-1000XM5 беспроводные, чёрные" and "…, серебристые"):
cut to fit, both would read "Наушники Sony WH-1000XM5 беспроводные,…", and a
customer could not tell which is which. Titles that would collide keep their
start only as far as room allows, and the words that tell them apart in full;
products titled exactly alike are told apart by their SKU.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from bot.flows.common import TITLE_WIDTH, clip

GAP = "…"


def distinct_titles(titles: Sequence[tuple[str, str]], width: int = TITLE_WIDTH) -> list[str]:
    """Return a button title for each (title, sku) shown together: at most `width` characters, none alike."""
    shown = [clip(title, width) for title, _ in titles]
    alike: defaultdict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(shown):
        alike[label].append(index)
    for group in alike.values():
        if len(group) > 1:
            told = _told_apart([titles[index] for index in group], width)
            for index, label in zip(group, told, strict=True):
                shown[index] = label
    return shown


def _told_apart(products: list[tuple[str, str]], width: int) -> list[str]:
    """Return labels for products whose cut titles read the same: the common start, then what differs."""
    words = [title.split() for title, _ in products]
    common = 0
    while all(len(each) > common for each in words) and len({each[common] for each in words}) == 1:
        common += 1
    repeated = {title for title, count in Counter(t for t, _ in products).items() if count > 1}
    labels = []
    for (title, sku), each in zip(products, words, strict=True):
        rest = " ".join(each[common:])
        if title in repeated:  # titled exactly alike: only the SKU tells them apart
            rest = f"{rest} · {sku}" if rest else f"· {sku}"
        head = " ".join(each[:common])
        room = width - len(rest) - 1  # "head rest"
        if len(head) <= room:
            labels.append(f"{head} {rest}".strip())
        elif room > len(GAP):
            labels.append(f"{head[: room - len(GAP)].rstrip(' ,;:-')}{GAP} {rest}")
        else:
            labels.append(clip(rest, width))
    return labels
