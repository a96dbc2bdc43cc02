"""Order money, with one owner: the goods' subtotal, the promo discount, delivery and the total.

Every place that shows or charges an amount asks this module: the cart, the
checkout's delivery options, the order as placed, Telegram's shipping options,
the payment links. Amounts are integer minor units of one currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from shop.errors import ShopError
from shop.models import PromoKind
from shop.money import Money

PICKUP = "pickup"


@dataclass(frozen=True, slots=True)
class DeliveryOption:
    """One way to get an order: its id, its price, and from what goods total it is free."""

    id: str
    price: int
    needs_address: bool
    free_from: int | None = None
    # The owner's own name for it, by locale; the built-in ids have translated names.
    names: Mapping[str, str] = field(default_factory=dict)

    def price_for(self, goods: int) -> int:
        """Return what this option costs for goods worth `goods` (after any discount)."""
        if self.free_from is not None and goods >= self.free_from:
            return 0
        return self.price


# Digital goods need no delivery at all.
NO_DELIVERY = DeliveryOption("none", 0, needs_address=False)


class UnknownDeliveryError(ShopError):
    """A delivery option the shop does not offer (a stale or forged choice)."""


@dataclass(frozen=True, slots=True)
class DeliveryRules:
    """The shop's delivery options in the order customers see them, and where pickup is."""

    options: tuple[DeliveryOption, ...]
    pickup_address: str | None = None

    def get(self, option_id: str, *, digital_only: bool = False) -> DeliveryOption:
        """Return the option by id; an order of digital goods only always gets no delivery."""
        if digital_only:
            return NO_DELIVERY
        for option in self.options:
            if option.id == option_id:
                return option
        raise UnknownDeliveryError(f"unknown delivery option {option_id!r}")

    @property
    def default(self) -> DeliveryOption:
        """Return the option an order gets when the customer was not asked (the first one)."""
        return self.options[0]

    def name_for(self, option_id: str, locale: str) -> str | None:
        """Return the owner's own name of an option in `locale`, if they gave one."""
        for option in self.options:
            if option.id == option_id:
                return option.names.get(locale) or next(iter(option.names.values()), None)
        return None


# Example options for a shop selling in US dollars that has not set its own yet (the
# demo's); a shop in any other currency offers pickup until it does: a made-up price in
# someone else's currency would be charged for real.
EXAMPLE_CURRENCY = "USD"
EXAMPLE_OPTIONS = (
    DeliveryOption(PICKUP, 0, needs_address=False),
    DeliveryOption("courier", 500, needs_address=True, free_from=5_000),
    DeliveryOption("post", 350, needs_address=True),
)
PICKUP_ONLY = (DeliveryOption(PICKUP, 0, needs_address=False),)


def example_rules(currency: str) -> DeliveryRules:
    """Return the delivery options of a shop that configured none, selling in `currency`."""
    return DeliveryRules(EXAMPLE_OPTIONS if currency == EXAMPLE_CURRENCY else PICKUP_ONLY)


@dataclass(frozen=True, slots=True)
class Totals:
    """What an order costs: the goods, the discount on them, the delivery, the total."""

    currency: str
    subtotal: int
    discount: int = 0
    delivery: int = 0

    @property
    def goods(self) -> int:
        """Return what the goods cost after the discount."""
        return self.subtotal - self.discount

    @property
    def total(self) -> int:
        """Return what the customer pays."""
        return self.goods + self.delivery

    def delivered(self, option: DeliveryOption) -> Totals:
        """Return these totals with `option`'s delivery, priced on the discounted goods."""
        return replace(self, delivery=option.price_for(self.goods))


def subtotal(lines: Iterable[tuple[int, int]]) -> int:
    """Return what (unit price, quantity) lines cost together."""
    return sum(price * quantity for price, quantity in lines)


def promo_discount(kind: str, value: int, subtotal: int, currency: str) -> int:
    """Return a promo's discount on `subtotal`: a percent or an amount, never more than the goods."""
    if kind == PromoKind.PERCENT:
        return min(subtotal, Money(subtotal, currency).percent(value).amount)
    return min(subtotal, value)
