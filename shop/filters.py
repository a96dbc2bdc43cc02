"""What a customer narrowed a list of products to, and in which order they want it.

One `Filters` value describes a shelf or a search's results: a price range in minor
units, in stock only, attribute values (brand, colour…) and the sort. The search
index applies it (shop/search_index.py); flows keep it in the conversation state
as `Filters.to_state()` so it survives restarts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class Sort(StrEnum):
    """The order a customer asked for."""

    RELEVANCE = "relevance"  # the best match first; on a shelf, the shop's own order
    PRICE_UP = "price"
    PRICE_DOWN = "-price"
    NEWEST = "newest"


@dataclass(frozen=True, slots=True)
class Filters:
    """A shelf's or a search's narrowing and order; the default narrows nothing."""

    category_id: int | None = None
    min_price: int | None = None  # minor units, inclusive
    max_price: int | None = None  # minor units, inclusive
    in_stock: bool = False
    attrs: tuple[tuple[str, str], ...] = ()  # (name, value): a product must hold each
    sort: Sort = Sort.RELEVANCE

    @property
    def narrows(self) -> bool:
        """Tell whether anything but the category and the order is set."""
        return bool(
            self.min_price is not None or self.max_price is not None or self.in_stock or self.attrs
        )

    def with_attr(self, name: str, value: str | None) -> Filters:
        """Return these filters with attribute `name` set to `value` (None: dropped)."""
        kept = tuple((n, v) for n, v in self.attrs if n != name)
        return replace(self, attrs=kept if value is None else (*kept, (name, value)))

    def cleared(self) -> Filters:
        """Return the same category and order with no narrowing."""
        return Filters(category_id=self.category_id, sort=self.sort)

    def to_state(self) -> dict[str, Any]:
        """Return a JSON-able form for the conversation state."""
        return {
            "category_id": self.category_id,
            "min_price": self.min_price,
            "max_price": self.max_price,
            "in_stock": self.in_stock,
            "attrs": [list(pair) for pair in self.attrs],
            "sort": self.sort.value,
        }

    @classmethod
    def from_state(cls, data: Any) -> Filters:
        """Read `to_state`'s form back; anything malformed reads as no filters."""
        if not isinstance(data, dict):
            return cls()
        try:
            return cls(
                category_id=_int_or_none(data.get("category_id")),
                min_price=_int_or_none(data.get("min_price")),
                max_price=_int_or_none(data.get("max_price")),
                in_stock=data.get("in_stock") is True,
                attrs=tuple(
                    (str(name), str(value)) for name, value in data.get("attrs") or () if name
                ),
                sort=Sort(data.get("sort", Sort.RELEVANCE)),
            )
        except (TypeError, ValueError):
            return cls()


def _int_or_none(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value
