"""Money as an integer number of minor units plus an ISO 4217 currency code."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache, lru_cache

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, list_currencies


class MoneyError(ValueError):
    """A price or currency that cannot be money."""


@cache
def known_currencies() -> frozenset[str]:
    """Return the ISO 4217 codes Babel knows."""
    return frozenset(list_currencies())


def check_currency(code: str) -> str:
    """Return the upper-cased ISO 4217 code, or raise MoneyError if it is not one."""
    normalized = code.strip().upper()
    if normalized not in known_currencies():
        raise MoneyError(f"unknown currency {code!r}")
    return normalized


@cache
def minor_digits(currency: str) -> int:
    """Return how many minor-unit digits the currency has (2 for USD, 0 for JPY)."""
    if currency == "XTR":  # Telegram Stars are whole units
        return 0
    return int(get_currency_precision(currency))


def parse_major(text: str, currency: str) -> int:
    """Turn a price in major units ("1299.90") into minor units, refusing rounding."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise MoneyError(f"price {text!r} is not a number") from None
    if not value.is_finite():
        raise MoneyError(f"price {text!r} is not a number")
    if value < 0:
        raise MoneyError(f"price {text!r} is negative")
    scaled = value.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            f"price {text!r} has more decimals than {currency} allows ({minor_digits(currency)})"
        )
    return int(scaled)


def to_major(amount: int, currency: str) -> str:
    """Render minor units as a plain major-unit string ("1299.90"), as the catalog file has it."""
    digits = minor_digits(currency)
    return str(Decimal(amount).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of one currency."""

    amount: int
    currency: str

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, times: int) -> Money:
        return Money(self.amount * times, self.currency)

    def percent(self, percent: int) -> Money:
        """Return `percent`% of this amount, rounded half up to a minor unit."""
        share = (Decimal(self.amount) * percent / 100).quantize(Decimal(1), ROUND_HALF_UP)
        return Money(int(share), self.currency)

    def format(self, locale: str = "en") -> str:
        """Format for a person in `locale` ("$1,299.90", "1 299,90 ₽")."""
        return format_money(self.amount, self.currency, locale)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")


# Babel takes ~0.2 ms per price and a catalog page shows many: prices repeat, so remember them.
@lru_cache(maxsize=65_536)
def format_money(amount: int, currency: str, locale: str = "en") -> str:
    """Format minor units for a person in `locale`, the currency's own way."""
    try:
        babel_locale = Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        babel_locale = Locale.parse("en")
    digits = minor_digits(currency)
    major = Decimal(amount).scaleb(-digits)
    if currency == "XTR":
        return f"{major} ⭐"
    return str(format_currency(major, currency, locale=babel_locale))
