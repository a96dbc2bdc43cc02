"""The lists a customer browsed lately (a search's results, a shelf), kept in the conversation state.

A button carries at most `actions.MAX_ARG_BYTES`: too few for a query and its
filters. So each list gets a short id, kept with its query, filters and the page
last shown in the conversation state (it survives restarts like the rest of it),
and buttons carry only the id. A product opened from a list carries the list's id,
so its card's Back shows that list again as the customer left it. The last `KEPT`
lists are remembered: an older id (a very old card, a forged button) finds none,
and Back falls back to the product's shelf.

A card opened from anywhere else carries no list (id 0) and goes Back to its
shelf: from the cart, a deep link, or a message the shop sent unasked (a
back-in-stock notice). Broadcasts carry only the Menu button today; a product
button added to them one day would open a card the same way, whose Back is the
product's shelf (the broadcast's text stays above it in the chat).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.flows import actions as a
from bot.flows.common import menu_button
from bot.flows.context import Ctx
from bot.flows.types import Button
from shop.filters import Filters
from shop.views import ProductView

LISTS = "lists"  # state key
KEPT = 8
QUERY_WIDTH = 200


@dataclass(slots=True)
class Listing:
    """One list the customer browsed: what was searched (or "" for a shelf), its filters, its page."""

    id: int
    query: str
    filters: Filters
    page: int = 1
    # The attribute values its filter panel offers, by position: a button carries the position.
    choices: list[tuple[str, str]] = field(default_factory=list)

    def to_state(self) -> dict[str, Any]:
        """Return a JSON-able form for the conversation state."""
        return {
            "id": self.id,
            "q": self.query,
            "f": self.filters.to_state(),
            "p": self.page,
            "c": [list(choice) for choice in self.choices],
        }

    @classmethod
    def from_state(cls, data: Any) -> Listing | None:
        """Read `to_state`'s form back; None when it is not one."""
        if not isinstance(data, dict):
            return None
        list_id, query, page = data.get("id"), data.get("q"), data.get("p")
        if not (isinstance(list_id, int) and isinstance(query, str) and isinstance(page, int)):
            return None
        choices = data.get("c")
        return cls(
            list_id,
            query[:QUERY_WIDTH],
            Filters.from_state(data.get("f")),
            max(page, 1),
            [
                (str(choice[0]), str(choice[1]))
                for choice in (choices if isinstance(choices, list) else [])
                if isinstance(choice, list) and len(choice) == 2
            ],
        )


def opened(ctx: Ctx, query: str, filters: Filters) -> Listing:
    """Return a new list for `query` within `filters`, kept as the latest (the oldest kept is let go)."""
    kept = ctx.data(LISTS)
    last = kept.get("next")
    list_id = (last if isinstance(last, int) else 0) + 1
    listing = Listing(list_id, query[:QUERY_WIDTH], filters)
    kept["next"] = list_id
    kept["kept"] = [*_raw(ctx)[-(KEPT - 1) :], listing.to_state()]
    return listing


def found(ctx: Ctx, list_id: int) -> Listing | None:
    """Return the kept list with this id, if it is still kept."""
    for raw in _raw(ctx):
        listing = Listing.from_state(raw)
        if listing is not None and listing.id == list_id:
            return listing
    return None


def latest(ctx: Ctx) -> Listing | None:
    """Return the list the customer browsed last, if any."""
    raws = _raw(ctx)
    return Listing.from_state(raws[-1]) if raws else None


def keep(ctx: Ctx, listing: Listing) -> None:
    """Save a changed list (its page, filters or choices) in its place; one let go stays gone."""
    raws = _raw(ctx)
    for n, raw in enumerate(raws):
        if isinstance(raw, dict) and raw.get("id") == listing.id:
            raws[n] = listing.to_state()
            ctx.data(LISTS)["kept"] = raws
            return


def back_button(ctx: Ctx, product: ProductView, list_id: int) -> Button:
    """Return a card's Back: to the list it was opened from, else its shelf, else the menu."""
    label = "« " + ctx._("Back")
    listing = found(ctx, list_id) if list_id else None
    if listing is not None:
        return Button(label, a.LIST, f"{listing.id}:{listing.page}")
    if product.category_id is not None:
        return Button(label, a.CATEGORY, f"{product.category_id}:1")
    return menu_button(ctx)


def _raw(ctx: Ctx) -> list[Any]:
    kept = ctx.state.data.get(LISTS)
    raws = kept.get("kept") if isinstance(kept, dict) else None
    return list(raws) if isinstance(raws, list) else []
