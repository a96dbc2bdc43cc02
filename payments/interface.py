"""The payment interface: plain data in and out, and one Protocol per provider capability.

Every provider (the sandbox checkout, Stripe, Telegram card invoices, Telegram
Stars) is driven by `payments.service.PaymentService`, which owns the rules:
the amount always comes from the order in the database, a provider event is
verified before it counts, and an order is paid exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from shop.errors import ShopError
from shop.i18n import N_
from shop.models import OrderLine
from shop.views import OrderView


class PaymentStatus(StrEnum):
    """What became of one attempt to pay."""

    CREATED = "created"  # a link or an invoice was made; no money yet
    FAILED = "failed"  # the provider could not start it
    CANCELLED = "cancelled"  # the customer left the checkout, or it expired; no money
    CAPTURED = "captured"  # the provider took the money; it is being settled
    SUCCEEDED = "succeeded"  # this payment paid its order
    REFUNDING = "refunding"  # the money goes back; `reason` says why
    REFUNDED = "refunded"
    REFUND_FAILED = "refund_failed"  # the provider did not refund: staff act on `note`


# A payment in one of these has been decided: a repeated event changes nothing.
SETTLED = (
    PaymentStatus.SUCCEEDED,
    PaymentStatus.REFUNDING,
    PaymentStatus.REFUNDED,
    PaymentStatus.REFUND_FAILED,
)


class RefundReason(StrEnum):
    """Why money was given back."""

    AMOUNT_MISMATCH = "amount_mismatch"  # paid another amount than the order's
    CURRENCY_MISMATCH = "currency_mismatch"
    ALREADY_PAID = "already_paid"  # a second charge for an order another payment paid
    CANNOT_FULFIL = "cannot_fulfil"  # the order was cancelled, or expired and sold out
    REQUESTED = "requested"  # the customer or staff asked


class EventType(StrEnum):
    """What a provider says happened to a payment."""

    PAID = "paid"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    """What handling a provider event did."""

    PAID = "paid"  # this payment paid the order: now paid, stock committed, customer told
    DUPLICATE = "duplicate"  # seen and decided before: nothing changed
    REFUNDED = "refunded"  # the money was not kept and went back (see `reason`)
    REFUND_PENDING = "refund_pending"  # it goes back; the provider has not confirmed yet: retried
    REFUND_FAILED = "refund_failed"  # the money must go back but the provider did not: staff act
    CANCELLED = "cancelled"  # the customer left the checkout; the order still waits
    IGNORED = "ignored"  # nothing to do (a cancel after the payment, a foreign event)
    UNKNOWN_ORDER = "unknown_order"  # no such order here: nothing changed


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """A verified fact from a provider about one payment."""

    provider: str
    type: EventType
    external_id: str  # the provider's id of this payment (session, charge)
    order_id: int | None
    amount: int | None = None
    currency: str | None = None
    payment_id: int | None = None  # our payment row, from a payload we signed
    reference: str | None = None  # our payment's token, where the provider carries it back
    charge_id: str | None = None  # what the provider refunds against, when not `external_id`
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The answer to a provider event."""

    outcome: Outcome
    order_id: int | None = None
    payment_id: int | None = None
    reason: RefundReason | None = None


@dataclass(frozen=True, slots=True)
class LabeledPrice:
    """One line of a Telegram invoice's price breakdown, in minor units (negative for a discount)."""

    label: str
    amount: int


@dataclass(frozen=True, slots=True)
class TelegramInvoice:
    """Everything `send_invoice` / `create_invoice_link` take, as plain data."""

    title: str
    description: str
    payload: str
    currency: str
    prices: tuple[LabeledPrice, ...]
    provider_token: str  # empty for Telegram Stars
    need_name: bool = False
    need_phone_number: bool = False
    need_email: bool = False
    need_shipping_address: bool = False
    is_flexible: bool = False
    photo_url: str | None = None

    @property
    def total(self) -> int:
        """Return what the customer pays: the sum of the lines."""
        return sum(price.amount for price in self.prices)


@dataclass(frozen=True, slots=True)
class PaymentStart:
    """How the customer pays: a link to open, or a Telegram invoice to send."""

    payment_id: int
    order_id: int
    provider: str
    amount: int
    currency: str
    expires_at: datetime
    url: str | None = None
    invoice: TelegramInvoice | None = None


@dataclass(frozen=True, slots=True)
class StartRequest:
    """What a provider needs to start a payment, all read from the database by the service."""

    payment_id: int
    order: OrderView
    lines: Sequence[OrderLine]
    amount: int
    currency: str
    page_url: str  # our own page for this payment: /pay/{token}
    return_url: str | None  # back to the chat
    expires_at: datetime
    now: datetime
    locale: str
    reference: str  # unguessable, ours: a provider that carries it back proves the payment is ours


@dataclass(frozen=True, slots=True)
class Started:
    """A provider's answer to `start`."""

    external_id: str | None = None
    url: str | None = None
    invoice: TelegramInvoice | None = None
    expires_at: datetime | None = None  # when the provider's page lapses, if not when asked


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """One payment attempt as stored."""

    id: int
    order_id: int
    provider: str
    external_id: str | None
    token: str | None
    status: str
    amount: int
    currency: str
    url: str | None
    return_url: str | None
    charge_id: str | None
    refund_id: str | None
    reason: str | None
    note: str | None
    data: dict[str, Any]
    claim_order_id: int | None
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    refunded_at: datetime | None
    attempts: int
    retry_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> PaymentRecord:
        """Build from a result row that selected every payment column."""
        return cls(**row._mapping)


# Why an order takes no payment now: messages in the catalogs, translated where they are shown.
ALREADY_PAID = N_("This order is already paid.")
NOT_PAYABLE = N_("This order can no longer be paid. Please place it again.")


class PaymentError(ShopError):
    """A payment the shop cannot start or refund, with the reason."""


class UnknownProviderError(PaymentError):
    """A provider name the shop does not have configured."""


class ChargeNotRecordedError(Exception):
    """A charge the provider made that could not be recorded (the database is down): logged in full."""


class WebhookError(Exception):
    """A webhook that does not prove it comes from the provider: unsigned, badly signed, stale, malformed."""


class RefundError(Exception):
    """The provider refused to give the money back for good; the message says what staff should do."""


class RefundDelayedError(Exception):
    """The provider could not be reached or asked us to wait: the refund is tried again later."""


@runtime_checkable
class PaymentProvider(Protocol):
    """Starts payments and gives money back."""

    name: str
    live: bool  # whether a payment through it moves real money (not a sandbox or test mode)

    def quote(self, order: OrderView) -> tuple[int, str]:
        """Return the amount and currency to charge for `order` (converted where the provider needs)."""
        ...

    async def start(self, request: StartRequest) -> Started:
        """Create the payment at the provider: a hosted page, a session, an invoice."""
        ...

    async def refund(self, payment: PaymentRecord) -> str:
        """Give the payment's money back, once however often asked; return the provider's refund id.

        Raises:
            RefundError: the provider refuses for good (staff act on the message).
            RefundDelayedError: try again later.
        """
        ...


@runtime_checkable
class WebhookVerifier(Protocol):
    """Turns a provider's webhook request into a verified event."""

    async def verify(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
        """Return the event, None for a genuine event that needs nothing, or raise WebhookError."""
        ...


@runtime_checkable
class WebhookScreen(Protocol):
    """What a provider's webhook request must show before its body is read at all."""

    max_body: int  # bytes: the largest event the provider sends, with room to spare

    def screen(self, headers: Mapping[str, str]) -> None:
        """Raise WebhookError at once if the signature header is missing, malformed or stale."""
        ...


@runtime_checkable
class PaymentLookup(Protocol):
    """Asks the provider directly how a payment stands (on the customer's return from it)."""

    async def lookup(self, payment: PaymentRecord) -> ProviderEvent | None:
        """Return the payment's event if the provider says it is paid or over, else None."""
        ...
