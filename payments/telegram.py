"""Telegram payments as plain data: invoices, their signed payload, and the facts Telegram reports.

Following Telegram's rules: physical goods are paid by card through a BotFather
payment provider token, with the price broken into labelled lines (items,
discount, delivery); digital goods are paid in Telegram Stars (currency ``XTR``,
an empty provider token, exactly one price line). Sending invoices and answering
the payment form belong to the Telegram channel, which hands us the facts; a
Stars refund is one Bot API call (`refundStarPayment`) that any process makes
itself, so staff and recovery can refund where no channel runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

import aiohttp

from payments.interface import (
    LabeledPrice,
    PaymentRecord,
    RefundDelayedError,
    RefundError,
    Started,
    StartRequest,
    TelegramInvoice,
)
from payments.keys import KeyRing
from shop.i18n import Language
from shop.models import OrderLine
from shop.money import minor_digits
from shop.plaintext import clean
from shop.views import OrderView

STARS = "XTR"
TELEGRAM = "telegram"  # card invoices through a BotFather provider token
TELEGRAM_STARS = "stars"
PAYLOAD_LIMIT = 128  # bytes, Telegram's limit on an invoice payload
PAYLOAD_KEY = "telegram-payload"
TITLE_LIMIT = 32
DESCRIPTION_LIMIT = 255

DEFAULT_API = "https://api.telegram.org"
BOT_API_TIMEOUT = aiohttp.ClientTimeout(total=15)


@dataclass(frozen=True, slots=True)
class PreCheckout:
    """Telegram's pre_checkout_query, as facts: the last moment to refuse before money moves."""

    query_id: str
    user_id: int
    currency: str
    total_amount: int
    invoice_payload: str
    # What Telegram's payment form collected: the delivery option chosen on a flexible
    # invoice (see `ShippingChoice`), and the name, phone and address it asked for.
    shipping_option_id: str | None = None
    name: str | None = None
    phone: str | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        # Typed by the customer into Telegram's form: kept without control characters.
        for field in ("name", "phone", "address"):
            value = getattr(self, field)
            if value is not None:
                object.__setattr__(self, field, clean(value))


@dataclass(frozen=True, slots=True)
class ShippingChoice:
    """A delivery option a flexible invoice offers, and what it adds to the invoice's prices."""

    option_id: str
    price: int  # minor units of the invoice's currency, on top of the invoiced amount


@dataclass(frozen=True, slots=True)
class PreCheckoutAnswer:
    """What to answer a pre_checkout_query: go ahead, or refuse with a message for the customer."""

    ok: bool
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class SuccessfulPayment:
    """Telegram's successful_payment message, as facts."""

    user_id: int
    currency: str
    total_amount: int
    invoice_payload: str
    telegram_payment_charge_id: str
    provider_payment_charge_id: str = ""


@dataclass(frozen=True, slots=True)
class Payload:
    """What an invoice payload names (our payment row and its order), and its signature."""

    payment_id: int
    order_id: int
    mac: str


class PayloadCodec:
    """Makes and reads invoice payloads that cannot be forged into another order or amount.

    A payload is ``p<payment>o<order>.<mac>``: the MAC covers the payment, the
    order, and the amount and currency invoiced, under a server key. Reading
    one gives the ids; `check` then proves them against the payment as stored.
    """

    _FORM = re.compile(r"p(\d{1,18})o(\d{1,18})\.([A-Za-z0-9_-]{22})")

    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, payment_id: int, order_id: int, amount: int, currency: str) -> str:
        """Return the payload for an invoice of `amount` `currency` for this payment."""
        payload = f"p{payment_id}o{order_id}.{self._mac(payment_id, order_id, amount, currency)}"
        assert len(payload.encode()) <= PAYLOAD_LIMIT
        return payload

    def read(self, payload: str) -> Payload | None:
        """Return what a payload of our form names, not yet proven; None for anything else."""
        match = self._FORM.fullmatch(payload)
        if match is None:
            return None
        return Payload(int(match[1]), int(match[2]), match[3])

    def check(self, payload: Payload, amount: int, currency: str) -> bool:
        """Return whether we signed `payload` for an invoice of `amount` `currency`."""
        expected = self._mac(payload.payment_id, payload.order_id, amount, currency)
        return hmac.compare_digest(expected, payload.mac)

    def _mac(self, payment_id: int, order_id: int, amount: int, currency: str) -> str:
        message = f"{payment_id}:{order_id}:{amount}:{currency}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def payload_codec(keys: KeyRing) -> PayloadCodec:
    """Return the codec of invoice payloads under the server's payload key."""
    return PayloadCodec(await keys.key(PAYLOAD_KEY))


def stars_for(amount: int, currency: str, rate: Decimal) -> int:
    """Convert minor units of `currency` into whole Stars at `rate` Stars per major unit, rounding up."""
    major = Decimal(amount).scaleb(-minor_digits(currency))
    return max(1, int((major * rate).to_integral_value(ROUND_CEILING)))


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _order_title(order_id: int, locale: str) -> str:
    return Language.of(locale)._("Order #{order}").format(order=order_id)


def _description(order_id: int, lines: Sequence[OrderLine], locale: str) -> str:
    items = ", ".join(
        f"{line.title_i18n.get(locale, line.title)} × {line.quantity}" for line in lines
    )
    return _clip(items or _order_title(order_id, locale), DESCRIPTION_LIMIT)


class _TelegramProvider:
    """What card and Stars invoices share: the payload and the invoice's text."""

    name: str

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys

    async def _invoice(
        self, request: StartRequest, prices: tuple[LabeledPrice, ...], provider_token: str
    ) -> Started:
        codec = await payload_codec(self._keys)
        order = request.order
        invoice = TelegramInvoice(
            title=_clip(_order_title(order.id, request.locale), TITLE_LIMIT),
            description=_description(order.id, request.lines, request.locale),
            payload=codec.encode(request.payment_id, order.id, request.amount, request.currency),
            currency=request.currency,
            prices=prices,
            provider_token=provider_token,
        )
        assert invoice.total == request.amount
        return Started(invoice=invoice)


class TelegramCardProvider(_TelegramProvider):
    """Card invoices for physical goods through the BotFather provider token."""

    name = TELEGRAM

    def __init__(self, provider_token: str, keys: KeyRing) -> None:
        super().__init__(keys)
        self._provider_token = provider_token
        # BotFather hands out test tokens with ":TEST:" in them: no real money moves.
        self.live = ":TEST:" not in provider_token

    def quote(self, order: OrderView) -> tuple[int, str]:
        """Return the order's own total: card invoices are in the shop currency."""
        return order.total, order.currency

    async def start(self, request: StartRequest) -> Started:
        """Build the invoice: a line per product, the discount and the delivery."""
        locale = request.locale
        _ = Language.of(locale)._
        prices = [
            LabeledPrice(
                _clip(f"{line.title_i18n.get(locale, line.title)} × {line.quantity}", 64),
                line.unit_price * line.quantity,
            )
            for line in request.lines
        ]
        order = request.order
        if order.discount:
            prices.append(LabeledPrice(_("Discount"), -order.discount))
        if order.delivery_price:
            prices.append(LabeledPrice(_("Delivery"), order.delivery_price))
        return await self._invoice(request, tuple(prices), self._provider_token)

    async def refund(self, payment: PaymentRecord) -> str:
        """Refuse: the Bot API cannot refund card payments; staff refund at the provider."""
        raise RefundError(
            "Telegram cannot refund card payments through the bot: refund charge "
            f"{payment.charge_id or payment.external_id} in the payment provider's dashboard"
        )


class TelegramStarsProvider(_TelegramProvider):
    """Telegram Stars invoices for digital goods, refunded through the Bot API."""

    name = TELEGRAM_STARS
    live = True

    def __init__(
        self, rate: Decimal, keys: KeyRing, *, bot_token: str, api_url: str | None = None
    ) -> None:
        super().__init__(keys)
        self._rate = rate
        self._refund_url = (
            f"{(api_url or DEFAULT_API).rstrip('/')}/bot{bot_token}/refundStarPayment"
        )
        self._http: aiohttp.ClientSession | None = None

    def quote(self, order: OrderView) -> tuple[int, str]:
        """Return the order's total in Stars at the configured rate."""
        return stars_for(order.total, order.currency, self._rate), STARS

    async def start(self, request: StartRequest) -> Started:
        """Build the invoice: one price line in Stars, no provider token."""
        line = LabeledPrice(_order_title(request.order.id, request.locale), request.amount)
        return await self._invoice(request, (line,), "")

    async def refund(self, payment: PaymentRecord) -> str:
        """Give the Stars back (the Bot API's refundStarPayment); a charge refunded before counts as done."""
        user_id = payment.data.get("user_id")
        if payment.external_id is None or not isinstance(user_id, int):
            raise RefundError("the payment lacks the Telegram charge id or the payer")
        body = {"user_id": user_id, "telegram_payment_charge_id": payment.external_id}
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=BOT_API_TIMEOUT)
        try:
            async with self._http.post(self._refund_url, json=body) as response:
                status = response.status
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise RefundDelayedError(
                f"Telegram did not answer the Stars refund: {error!r}"
            ) from error
        if isinstance(answer, dict) and answer.get("ok") is True:
            return payment.external_id
        description = str(answer.get("description", "")) if isinstance(answer, dict) else ""
        if "CHARGE_ALREADY_REFUNDED" in description:
            return payment.external_id
        if status == 429 or status >= 500:
            raise RefundDelayedError(f"Telegram asked to wait: {status} {description}")
        raise RefundError(f"Telegram refused the Stars refund: {status} {description}")

    async def close(self) -> None:
        """Close the connection to the Bot API."""
        if self._http is not None:
            await self._http.close()
