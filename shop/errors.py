"""Domain errors: each says what went wrong in data a channel can put into words."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ShopError(Exception):
    """Something the customer or staff asked for that the shop refuses, with the reason."""


class NotFoundError(ShopError):
    """A product, order or customer that does not exist (or is not theirs)."""

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!r} not found")
        self.what = what
        self.key = key


class CartEmptyError(ShopError):
    """Checkout of an empty cart."""

    def __init__(self) -> None:
        super().__init__("the cart is empty")


class ProductUnavailableError(ShopError):
    """A product that is no longer sold (inactive) or in another currency than the cart."""

    def __init__(self, sku: str, reason: str) -> None:
        super().__init__(f"{sku}: {reason}")
        self.sku = sku
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Shortage:
    """A product of which fewer units are left than were asked for."""

    product_id: int
    sku: str
    title: str
    requested: int
    available: int


class OutOfStockError(ShopError):
    """Not enough units left for one or more products."""

    def __init__(self, shortages: list[Shortage]) -> None:
        super().__init__(
            "; ".join(f"{s.sku}: {s.available} left, {s.requested} asked" for s in shortages)
        )
        self.shortages = shortages


class PromoProblem(StrEnum):
    """Why a promo code does not apply."""

    UNKNOWN = "unknown"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    USED_UP = "used_up"
    ALREADY_USED = "already_used"
    BELOW_MINIMUM = "below_minimum"
    WRONG_CURRENCY = "wrong_currency"


class PromoRejectedError(ShopError):
    """A promo code that cannot be applied, and why."""

    def __init__(self, code: str, problem: PromoProblem, minimum: int | None = None) -> None:
        super().__init__(f"promo code {code!r}: {problem.value}")
        self.code = code
        self.problem = problem
        self.minimum = minimum


class IllegalTransitionError(ShopError):
    """An order status change the status machine does not allow."""

    def __init__(self, order_id: int, current: str, wanted: str, reason: str) -> None:
        super().__init__(f"order {order_id}: cannot go from {current} to {wanted}: {reason}")
        self.order_id = order_id
        self.current = current
        self.wanted = wanted
        self.reason = reason
