"""Telegram's payment form by Telegram's rules: shipping options, the pre-checkout answer, the charge.

Telegram asks before money moves (`pre_checkout_query`), reports after
(`successful_payment`), and on a flexible invoice asks first which delivery
options it may offer (`shipping_query`). Each is decided from the order in the
database; the invoice payload, signed by us, names the payment it is for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from payments import records
from payments.interface import (
    ALREADY_PAID,
    NOT_PAYABLE,
    ChargeNotRecordedError,
    Confirmation,
    EventType,
    Outcome,
    PaymentRecord,
    PaymentStatus,
    ProviderEvent,
)
from payments.keys import KeyRing
from payments.settlement import SettlementService
from payments.telegram import (
    TELEGRAM,
    TELEGRAM_STARS,
    PayloadCodec,
    PreCheckout,
    PreCheckoutAnswer,
    ShippingChoice,
    SuccessfulPayment,
    payload_codec,
)
from shop import orders as order_rules
from shop import tables as t
from shop.db import Database
from shop.i18n import N_, Language
from shop.models import OrderStatus, Reservation
from shop.orders import PAID_STATUSES, Contact, OrderService
from shop.pricing import UnknownDeliveryError
from shop.types import utcnow

log = logging.getLogger(__name__)

# Failures that pass: the database restarting, a connection dropped, a lock held too long.
TRANSIENT = (DBAPIError, OSError, TimeoutError)
RECORD_WITHIN = 20.0  # seconds a charge is tried for, within a webhook request Telegram waits on

P = PaymentStatus
p = t.payment

# Why an invoice cannot be paid now: messages in the catalogs, translated where they are shown.
INVALID_INVOICE = N_("This invoice is not valid. Please ask for a new one.")
SOLD_OUT = N_("Sorry, the goods of this order have sold out while it waited for payment.")
AMOUNT_CHANGED = N_("The amount no longer matches the order. Please ask for a new invoice.")
CANNOT_SHIP = N_("We cannot deliver this order that way. Please choose another delivery option.")


class TelegramCheckout:
    """Answers Telegram's shipping and pre-checkout questions and settles its charges."""

    def __init__(
        self,
        db: Database,
        orders: OrderService,
        settlement: SettlementService,
        keys: KeyRing,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._orders = orders
        self._settlement = settlement
        self._keys = keys
        self._clock = clock
        self._codec: PayloadCodec | None = None

    async def payload_codec(self) -> PayloadCodec:
        """Return the codec of Telegram invoice payloads, under the server's key."""
        if self._codec is None:
            self._codec = await payload_codec(self._keys)
        return self._codec

    async def pre_checkout(self, query: PreCheckout, *, locale: str = "en") -> PreCheckoutAnswer:
        """Answer Telegram's last question before money moves: may this invoice be paid now?"""
        lang = Language.of(locale)
        payment = await self._payment(query.invoice_payload)
        if payment is None:
            log.warning("pre-checkout %s with a payload that is not ours", query.query_id)
            return PreCheckoutAnswer(False, lang._(INVALID_INVOICE))
        if query.shipping_option_id or query.name or query.phone or query.address:
            shipped = await self._db.write(self._take_form(payment, query, self._clock()))
            if shipped is None:
                return PreCheckoutAnswer(False, lang._(CANNOT_SHIP))
            payment = shipped
        if (query.total_amount, query.currency) != (payment.amount, payment.currency):
            log.warning(
                "pre-checkout %s refused: %s %s asked, payment %s is %s %s",
                query.query_id,
                query.total_amount,
                query.currency,
                payment.id,
                payment.amount,
                payment.currency,
            )
            return PreCheckoutAnswer(False, lang._(AMOUNT_CHANGED))
        problem = await self._db.read(_unpayable(payment.order_id, payment.id))
        if problem is not None:
            return PreCheckoutAnswer(False, lang._(problem))
        return PreCheckoutAnswer(True)

    async def shipping(self, invoice_payload: str) -> list[ShippingChoice]:
        """Return the delivery options a flexible invoice offers, each priced in its currency.

        An option adds what the order would cost with it beyond the invoiced amount; options
        cheaper than the invoice already is are left out. Empty when the invoice is not ours,
        its order no longer waits for payment, or nothing in it ships.
        """
        payment = await self._payment(invoice_payload)
        if payment is None or payment.status != P.CREATED:
            return []
        order = (await self._orders.get(payment.order_id)).order
        if (
            order.digital
            or order.status != OrderStatus.PENDING_PAYMENT
            or order.currency != payment.currency
        ):
            return []
        invoiced = _invoiced(payment)
        totals = [
            (option, order.totals.delivered(option)) for option in self._orders.delivery.options
        ]
        return [
            ShippingChoice(option.id, priced.total - invoiced)
            for option, priced in totals
            if priced.total >= invoiced
        ]

    def _take_form(
        self, payment: PaymentRecord, query: PreCheckout, now: datetime
    ) -> Callable[[Connection], PaymentRecord | None]:
        """Return a transaction that takes what Telegram's payment form collected into the order.

        The delivery option chosen on a flexible invoice prices the order anew, and the
        payment's amount with it (so the amount checks hold), in one transaction and only
        while the order waits for this payment: a settled or lapsed order is left alone.
        None when it cannot be done (the caller refuses the payment).
        """

        def work(conn: Connection) -> PaymentRecord | None:
            order = order_rules.lock_order(conn, payment.order_id)
            fresh = records.load(conn, p.c.id == payment.id)
            if order is None or fresh is None or fresh.status != P.CREATED:
                return None
            if (order.status, order.reservation) != (OrderStatus.PENDING_PAYMENT, Reservation.HELD):
                return None
            option = None
            if query.shipping_option_id:
                try:
                    option = self._orders.delivery.get(
                        query.shipping_option_id, digital_only=order.digital
                    )
                except UnknownDeliveryError:
                    return None
                total = order.totals.delivered(option).total
                invoiced = _invoiced(fresh)
                if option.id != query.shipping_option_id or total < invoiced:
                    return None  # not an option the invoice offered
            contact = Contact(query.name, query.phone)
            order = order_rules.take_form(
                conn, order, now, contact=contact, option=option, address=query.address
            )
            if option is None:
                return fresh
            data = {**fresh.data, "invoiced": _invoiced(fresh)}
            return records.change(
                conn, fresh.id, (P.CREATED,), amount=order.total, data=data, updated_at=now
            )

        return work

    async def paid(self, paid: SuccessfulPayment) -> Confirmation:
        """Settle a Telegram successful_payment: once per charge, and one charge per order.

        Telegram tells of a charge once (a webhook is sent again only if not answered),
        so a database that fails for a moment is waited out and tried again; past that,
        the charge is logged in full for staff and ChargeNotRecordedError raised.

        Raises:
            ChargeNotRecordedError: the database failed for longer than `RECORD_WITHIN`.
        """
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(TRANSIENT),
                wait=wait_exponential(multiplier=0.2, max=3),
                stop=stop_after_delay(RECORD_WITHIN),
                before_sleep=_log_retry,
                reraise=True,
            ):
                with attempt:
                    return await self._settle(paid)
        except TRANSIENT as error:
            log.critical(
                "Telegram charge %s (provider charge %s, %s %s, payload %s) is NOT recorded: %r",
                paid.telegram_payment_charge_id,
                paid.provider_payment_charge_id,
                paid.total_amount,
                paid.currency,
                paid.invoice_payload,
                error,
            )
            raise ChargeNotRecordedError(paid.telegram_payment_charge_id) from error
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _settle(self, paid: SuccessfulPayment) -> Confirmation:
        """Settle one successful_payment (see `paid`)."""
        payment = await self._payment(paid.invoice_payload)
        if payment is None:
            log.error(
                "Telegram charge %s with a payload that is not ours",
                paid.telegram_payment_charge_id,
            )
            return Confirmation(Outcome.UNKNOWN_ORDER)
        event = ProviderEvent(
            provider=payment.provider,
            type=EventType.PAID,
            external_id=paid.telegram_payment_charge_id,
            order_id=payment.order_id,
            amount=paid.total_amount,
            currency=paid.currency,
            payment_id=payment.id,
            charge_id=paid.provider_payment_charge_id or None,
            data={"user_id": paid.user_id},
        )
        return await self._settlement.confirm(event)

    async def _payment(self, payload_text: str) -> PaymentRecord | None:
        """Return the Telegram payment an invoice payload names, if we signed it."""
        codec = await self.payload_codec()
        payload = codec.read(payload_text)
        if payload is None:
            return None

        def work(conn: Connection) -> PaymentRecord | None:
            return records.load(conn, p.c.id == payload.payment_id)

        payment = await self._db.read(work)
        if (
            payment is None
            or payment.order_id != payload.order_id
            or payment.provider not in (TELEGRAM, TELEGRAM_STARS)
            or not any(
                codec.check(payload, amount, payment.currency)
                for amount in {payment.amount, _invoiced(payment)}
            )
        ):
            return None
        return payment


def _log_retry(state: RetryCallState) -> None:
    """Say that recording a charge failed and will be tried again."""
    error = state.outcome.exception() if state.outcome else None
    log.warning("recording a Telegram charge failed (%r); trying again", error)


def _invoiced(payment: PaymentRecord) -> int:
    """Return the amount a payment's Telegram invoice was made for (before a delivery was chosen)."""
    return int(payment.data.get("invoiced", payment.amount))


def _unpayable(order_id: int, payment_id: int) -> Callable[[Connection], str | None]:
    """Return a read saying why an order cannot take a payment now (a message to translate), or None."""

    def work(conn: Connection) -> str | None:
        order = conn.execute(
            select(t.order.c.status, t.order.c.reservation).where(t.order.c.id == order_id)
        ).first()
        if order is None:
            return INVALID_INVOICE
        claimer = conn.execute(
            select(p.c.id).where(p.c.claim_order_id == order_id)
        ).scalar_one_or_none()
        if order.status in PAID_STATUSES or (claimer is not None and claimer != payment_id):
            return ALREADY_PAID
        if order.status == OrderStatus.PENDING_PAYMENT and order.reservation == Reservation.HELD:
            return None
        if order.status != OrderStatus.CANCELLED or order.reservation != Reservation.EXPIRED:
            return NOT_PAYABLE
        short = conn.execute(
            select(t.order_line.c.id)
            .select_from(
                t.order_line.outerjoin(t.product, t.product.c.id == t.order_line.c.product_id)
            )
            .where(
                t.order_line.c.order_id == order_id,
                (t.product.c.id.is_(None)) | (t.product.c.stock < t.order_line.c.quantity),
            )
            .limit(1)
        ).first()
        return SOLD_OUT if short is not None else None

    return work
