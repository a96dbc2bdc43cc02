"""Read models: plain frozen records built straight from result rows.

The SQLModel classes describe the tables; building one of those per row costs
tens of microseconds of ORM instrumentation, which the hot paths (cart, checkout,
search) cannot afford, so reads hand out these instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shop.money import Money
from shop.pricing import Totals


@dataclass(frozen=True, slots=True)
class ProductView:
    """A product as it is in the catalog now; `stock` counts units free to reserve."""

    id: int
    sku: str
    title: str
    description: str
    title_i18n: dict[str, str]
    description_i18n: dict[str, str]
    price: int
    currency: str
    stock: int
    sold: int
    image_url: str | None
    image_urls: list[str]
    attrs: dict[str, str]
    sort_order: int | None
    active: bool
    digital: bool
    category_id: int | None
    revision: int
    updated_at: datetime
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> ProductView:
        """Build from a result row that selected every product column."""
        return cls(**row._mapping)

    @property
    def money(self) -> Money:
        """Return the price as Money."""
        return Money(self.price, self.currency)

    @property
    def photos(self) -> tuple[str, ...]:
        """Return every photo of the product, the main one first."""
        if self.image_urls:
            return tuple(self.image_urls)
        return (self.image_url,) if self.image_url else ()

    def title_for(self, locale: str | None) -> str:
        """Return the title in `locale`, or the base title."""
        return self.title_i18n.get(locale or "", self.title)

    def description_for(self, locale: str | None) -> str:
        """Return the description in `locale`, or the base description."""
        return self.description_i18n.get(locale or "", self.description)


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order as it is now: what was bought for how much, where it goes, and its status."""

    id: int
    customer_id: int
    status: str
    currency: str
    subtotal: int
    discount: int
    delivery_price: int
    total: int
    promo_code: str | None
    contact_name: str | None
    contact_phone: str | None
    delivery_method: str
    delivery_address: str | None
    digital: bool
    reservation: str
    reserved_until: datetime
    channel: str
    source: str | None
    carrier: str | None
    tracking_number: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> OrderView:
        """Build from a result row that selected every order column."""
        return cls(**row._mapping)

    @property
    def money(self) -> Money:
        """Return the order's total as Money."""
        return Money(self.total, self.currency)

    @property
    def totals(self) -> Totals:
        """Return what the order costs, line by line of the bill."""
        return Totals(self.currency, self.subtotal, self.discount, self.delivery_price)


@dataclass(frozen=True, slots=True)
class CustomerView:
    """One identity on one channel, as the shop knows it now.

    `locale`, `marketing_consent` and `consent_at` are its person's (shop/persons.py):
    the same on each of the person's identities.
    """

    id: int
    channel: str
    external_id: str
    display_name: str
    locale: str | None
    marketing_consent: bool
    consent_at: datetime | None
    first_source: str | None
    contact_name: str | None
    contact_phone: str | None
    delivery_address: str | None
    first_seen_at: datetime
    last_inbound_at: datetime | None
    unreachable_at: datetime | None
    locale_at: datetime | None = None
    person_id: int | None = None  # the person's oldest identity; None: this is it
    phone: str | None = None  # the number the channel proved theirs, E.164 digits
    last_broadcast_id: int | None = None  # the broadcast that last reached them
    last_broadcast_at: datetime | None = None  # when it was sent to them

    @classmethod
    def from_row(cls, row: Any) -> CustomerView:
        """Build from a result row that selected every customer column."""
        return cls(**row._mapping)

    @property
    def person(self) -> int:
        """Return the id of the person this identity is (as it was read)."""
        return self.id if self.person_id is None else self.person_id


@dataclass(frozen=True, slots=True)
class PersonView:
    """One customer as staff see them: every identity they reached the shop through.

    `identities` holds the oldest (whose id is the person's) first, then by id.
    """

    identities: tuple[CustomerView, ...]

    @property
    def id(self) -> int:
        """Return the person's id: that of their oldest identity."""
        return self.identities[0].id

    @property
    def oldest(self) -> CustomerView:
        """Return the identity the person's id is of."""
        return self.identities[0]

    @property
    def name(self) -> str:
        """Return the name they go by: the first a messenger gave, oldest identity first."""
        return next((c.display_name for c in self.identities if c.display_name), "")

    def on(self, channel: str) -> list[CustomerView]:
        """Return their identities on one channel."""
        return [c for c in self.identities if c.channel == channel]
