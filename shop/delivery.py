"""Delivery rules: the ways an order can reach the customer and what each costs."""

from __future__ import annotations

from dataclasses import dataclass

from shop.errors import ShopError


@dataclass(frozen=True, slots=True)
class DeliveryOption:
    """One way to get an order: its id, price in minor units, and when it is free."""

    id: str
    price: int
    needs_address: bool
    free_from: int | None = None

    def price_for(self, subtotal: int) -> int:
        """Return what this option costs for an order of `subtotal`."""
        if self.free_from is not None and subtotal >= self.free_from:
            return 0
        return self.price


# Digital goods need no delivery at all.
NO_DELIVERY = DeliveryOption("none", 0, needs_address=False)


class UnknownDeliveryError(ShopError):
    """A delivery option the shop does not offer (a stale or forged choice)."""


@dataclass(frozen=True, slots=True)
class DeliveryRules:
    """The shop's delivery options, in the order customers see them."""

    options: tuple[DeliveryOption, ...] = (
        DeliveryOption("pickup", 0, needs_address=False),
        DeliveryOption("courier", 500, needs_address=True, free_from=5_000),
        DeliveryOption("post", 350, needs_address=True),
    )

    def get(self, option_id: str, *, digital_only: bool = False) -> DeliveryOption:
        """Return the option by id; an order of digital goods only always gets no delivery."""
        if digital_only:
            return NO_DELIVERY
        for option in self.options:
            if option.id == option_id:
                return option
        raise UnknownDeliveryError(f"unknown delivery option {option_id!r}")
