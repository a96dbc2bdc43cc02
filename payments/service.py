"""PaymentService: the rules every provider is held to.

- The amount and currency of a payment come from the order in the database,
  never from a client or a message.
- An event counts only once verified (a signed webhook, the provider's API, a
  Telegram update through the bot) and only for what it says: an amount or
  currency other than the payment's is refused, recorded, and refunded.
- Payments are idempotent by the provider's id: a repeated event changes
  nothing. And by order: the one payment that claims an order (a unique column)
  is the one that counts; any other charge for it is refunded, not kept.
- Settlement is `OrderService.confirm_payment`, the core's race-proof
  compare-and-set: paid once, stock committed, analytics written, listeners told
  once; an order whose hold ran out takes its stock again or is refunded.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from payments.interface import (
    SETTLED,
    Confirmation,
    EventType,
    Outcome,
    PaymentError,
    PaymentLookup,
    PaymentNotice,
    PaymentProvider,
    PaymentRecord,
    PaymentStart,
    PaymentStatus,
    ProviderEvent,
    RefundError,
    RefundReason,
    StartRequest,
    WebhookError,
    WebhookVerifier,
)
from payments.keys import KeyRing
from payments.sandbox import SANDBOX, SandboxCheckout
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
from shop import tables as t
from shop.analytics import EventKind, Visit, append_event
from shop.db import Database
from shop.delivery import NO_DELIVERY, DeliveryOption, UnknownDeliveryError
from shop.errors import IllegalTransitionError, NotFoundError
from shop.i18n import N_, Language
from shop.models import Channel, OrderStatus, Reservation
from shop.money import format_money
from shop.orders import NEXT, PAID_STATUSES, OrderDetails, OrderService, Settlement
from shop.types import utcnow
from shop.views import OrderView

log = logging.getLogger(__name__)

P = PaymentStatus
DEFAULT_LINK_TTL = timedelta(hours=1)
PaymentListener = Callable[[PaymentNotice], Awaitable[None]]

# Why an invoice cannot be paid now: messages in the catalogs, translated where they are shown.
INVALID_INVOICE = N_("This invoice is not valid. Please ask for a new one.")
ALREADY_PAID = N_("This order is already paid.")
NOT_PAYABLE = N_("This order can no longer be paid. Please place it again.")
SOLD_OUT = N_("Sorry, the goods of this order have sold out while it waited for payment.")
AMOUNT_CHANGED = N_("The amount no longer matches the order. Please ask for a new invoice.")
CANNOT_SHIP = N_("We cannot deliver this order that way. Please choose another delivery option.")


class LinkNotFoundError(PaymentError):
    """A payment page token that does not exist."""


class LinkExpiredError(PaymentError):
    """A payment page token whose time ran out before anyone paid."""


class UnknownProviderError(PaymentError):
    """A provider name the shop does not have configured."""


@dataclass(frozen=True, slots=True)
class CheckoutPage:
    """What the payment page shows: the payment, its order, and whether Pay is offered."""

    payment: PaymentRecord
    details: OrderDetails
    payable: bool


class _Action(Enum):
    UNKNOWN = "unknown"
    IGNORE = "ignore"
    DUPLICATE = "duplicate"
    SETTLE = "settle"
    REFUND = "refund"


@dataclass(frozen=True, slots=True)
class _Recorded:
    """What recording an event decided, with what the next steps need."""

    action: _Action
    payment: PaymentRecord | None = None
    customer_id: int = 0
    channel: str = ""


class PaymentService:
    """Starts payments for orders, settles verified provider events once, and refunds."""

    def __init__(
        self,
        db: Database,
        orders: OrderService,
        *,
        providers: Iterable[PaymentProvider],
        keys: KeyRing,
        public_base_url: str,
        link_provider: str = SANDBOX,
        hosted: SandboxCheckout | None = None,
        link_ttl: timedelta = DEFAULT_LINK_TTL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._orders = orders
        self.providers: dict[str, PaymentProvider] = {p.name: p for p in providers}
        if link_provider not in self.providers:
            raise ValueError(f"the link provider {link_provider!r} is not among the providers")
        self._keys = keys
        self._base = public_base_url.rstrip("/")
        self.link_provider = link_provider
        self._hosted = hosted
        self._link_ttl = link_ttl
        self._clock = clock
        self._listeners: list[PaymentListener] = []
        self._codec: PayloadCodec | None = None

    def subscribe(self, listener: PaymentListener) -> None:
        """Call `listener` once a payment settles: the order paid, or the money given back."""
        self._listeners.append(listener)

    def page_url(self, token: str) -> str:
        """Return the public address of a payment's page."""
        return f"{self._base}/pay/{token}"

    def method_for(self, order: OrderView) -> str:
        """Return the provider an order is paid with, by Telegram's rules and the settings.

        On Telegram, digital goods are paid in Stars and physical goods by card
        invoice when a provider token is set; everything else by payment link.
        """
        if order.channel == Channel.TELEGRAM:
            wanted = TELEGRAM_STARS if order.digital else TELEGRAM
            if wanted in self.providers:
                return wanted
        return self.link_provider

    # Starting ---------------------------------------------------------------------------

    async def start(
        self,
        order_id: int,
        *,
        provider: str | None = None,
        return_url: str | None = None,
        locale: str = "en",
    ) -> PaymentStart:
        """Start paying an order: a link to open or a Telegram invoice to send.

        The amount is the order's, read from the database. A live attempt of the same
        provider is reused, so asking twice gives the same link.

        Raises:
            NotFoundError: no such order.
            PaymentError: the order is not waiting for payment, or the provider failed.
            UnknownProviderError: `provider` is not configured.
        """
        now = self._clock()
        details = await self._orders.get(order_id)
        order = details.order
        if order.status != OrderStatus.PENDING_PAYMENT:
            why = ALREADY_PAID if order.status in PAID_STATUSES else NOT_PAYABLE
            raise PaymentError(f"order {order_id}: {why}")
        if order.reservation != Reservation.HELD or order.reserved_until <= now:
            raise PaymentError(f"order {order_id}: {NOT_PAYABLE}")
        name = provider or self.method_for(order)
        chosen = self._provider(name)
        amount, currency = chosen.quote(order)
        record, fresh = await self._db.write(
            self._open(order, name, amount, currency, secrets.token_urlsafe(24), return_url, now)
        )
        if not fresh and record.url:
            return _started(record, record.url)
        assert record.token is not None
        request = StartRequest(
            payment_id=record.id,
            order=order,
            lines=details.lines,
            amount=amount,
            currency=currency,
            page_url=self.page_url(record.token),
            return_url=return_url,
            expires_at=record.expires_at,
            now=now,
            locale=locale,
        )
        try:
            started = await chosen.start(request)
        except Exception as error:
            log.exception("cannot start a %s payment for order %s", name, order_id)
            if fresh:
                await self._set(record.id, (P.CREATED,), status=P.FAILED, note=str(error)[:500])
            raise PaymentError(f"order {order_id}: {name} payments are unavailable now") from error
        if (started.external_id, started.url) != (record.external_id, record.url):
            await self._set(
                record.id, (P.CREATED,), external_id=started.external_id, url=started.url
            )
        return _started(record, started.url, started.invoice)

    def _open(
        self,
        order: OrderView,
        provider: str,
        amount: int,
        currency: str,
        token: str,
        return_url: str | None,
        now: datetime,
    ) -> Callable[[Connection], tuple[PaymentRecord, bool]]:
        """Return a transaction that reuses a live attempt or records a new one."""
        p = t.payment

        def work(conn: Connection) -> tuple[PaymentRecord, bool]:
            live = conn.execute(
                select(p)
                .where(
                    p.c.order_id == order.id,
                    p.c.provider == provider,
                    p.c.status == P.CREATED,
                    p.c.amount == amount,
                    p.c.currency == currency,
                    p.c.expires_at > now + self._link_ttl / 2,
                )
                .order_by(p.c.id.desc())
                .limit(1)
            ).first()
            if live is not None:
                return PaymentRecord.from_row(live), False
            record = _insert(
                conn,
                now,
                order_id=order.id,
                provider=provider,
                token=token,
                amount=amount,
                currency=currency,
                return_url=return_url,
                expires_at=now + self._link_ttl,
            )
            append_event(
                conn,
                EventKind.INVOICE,
                Visit(order.customer_id, order.channel, order.source),
                now,
                order_id=order.id,
                value=order.total,
                data={"provider": provider, "amount": amount, "currency": currency},
            )
            return record, True

        return work

    # Confirming -------------------------------------------------------------------------

    async def handle_webhook(
        self, provider: str, body: bytes, headers: Mapping[str, str]
    ) -> Confirmation:
        """Verify a provider's webhook and act on it.

        Raises:
            UnknownProviderError: no such provider, or it sends no webhooks.
            WebhookError: the request does not prove it comes from the provider.
        """
        verifier = self.providers.get(provider)
        if not isinstance(verifier, WebhookVerifier):
            raise UnknownProviderError(f"no webhooks for payment provider {provider!r}")
        event = await verifier.verify(body, headers)
        if event is None:
            return Confirmation(Outcome.IGNORED)
        if event.provider != provider:
            raise WebhookError(f"a {event.provider} event on the {provider} webhook")
        return await self.confirm(event)

    async def confirm(self, event: ProviderEvent) -> Confirmation:
        """Act on a verified provider event: settle the order once, or give the money back."""
        if event.type is EventType.CANCELLED:
            return await self._cancelled(event)
        recorded = _Recorded(_Action.UNKNOWN)
        if event.order_id is not None:
            recorded = await self._db.write(self._record(event, self._clock()))
        payment = recorded.payment
        if payment is None or recorded.action is _Action.IGNORE:
            log.warning(
                "a %s payment %s for order %s, unknown here or not its own",
                event.provider,
                event.external_id,
                event.order_id,
            )
            outcome = Outcome.UNKNOWN_ORDER if payment is None else Outcome.IGNORED
            return Confirmation(outcome, event.order_id, payment.id if payment else None)
        if recorded.action is _Action.SETTLE:
            return await self._settle(payment, recorded)
        if recorded.action is _Action.REFUND:
            return await self._give_back(payment, recorded)
        return Confirmation(Outcome.DUPLICATE, payment.order_id, payment.id, _reason(payment))

    async def _settle(self, payment: PaymentRecord, recorded: _Recorded) -> Confirmation:
        """Settle the order of a payment that claimed it: paid once, or refunded."""
        order_id = payment.order_id
        settlement = await self._orders.confirm_payment(
            order_id, actor=f"payment:{payment.provider}"
        )
        if settlement is Settlement.REFUND:
            claimed = await self._set(
                payment.id,
                (P.CAPTURED,),
                status=P.REFUNDING,
                reason=RefundReason.CANNOT_FULFIL,
                note="the order can no longer take a payment "
                "(cancelled, or its hold ran out and the stock is gone)",
            )
            if claimed is None:  # a repeat of this event got there first
                return Confirmation(Outcome.DUPLICATE, order_id, payment.id)
            return await self._give_back(claimed, recorded)
        await self._set(payment.id, (P.CAPTURED,), status=P.SUCCEEDED, paid_at=self._clock())
        if settlement is Settlement.ALREADY_PAID:
            return Confirmation(Outcome.DUPLICATE, order_id, payment.id)
        await self._notify(recorded, payment, Outcome.PAID)
        return Confirmation(Outcome.PAID, order_id, payment.id)

    def _record(self, event: ProviderEvent, now: datetime) -> Callable[[Connection], _Recorded]:
        """Return the transaction that records a payment event and decides what follows.

        It holds the order's row (PostgreSQL; SQLite has one writer), so that events
        for one order are decided one at a time.
        """
        p = t.payment

        def work(conn: Connection) -> _Recorded:
            o = t.order.c
            order = _held_order(conn, event.order_id, o.total, o.currency, o.customer_id, o.channel)
            if order is None:
                return _Recorded(_Action.UNKNOWN)
            payment = _load(
                conn, p.c.provider == event.provider, p.c.external_id == event.external_id
            )
            if payment is None:
                payment = _bind(conn, event, order, now)
            elif payment.order_id != order.id:
                return _Recorded(_Action.IGNORE, payment)
            found = _Recorded(_Action.DUPLICATE, payment, order.customer_id, order.channel)
            if payment.status in SETTLED:
                return found
            values: dict[str, Any] = {"updated_at": now, "data": {**payment.data, **event.data}}
            if event.charge_id:
                values["charge_id"] = event.charge_id
            reason, note = _mismatch(event, payment, order.total, order.currency)
            if reason is None:
                claimer = conn.execute(
                    select(p.c.id).where(p.c.claim_order_id == order.id)
                ).scalar_one_or_none()
                if claimer is not None and claimer != payment.id:
                    reason = RefundReason.ALREADY_PAID
                    note = f"order {order.id} was paid by payment {claimer}: a second charge"
            if reason is None:
                values.update(status=P.CAPTURED, claim_order_id=order.id)
                action = _Action.SETTLE
            else:
                values.update(status=P.REFUNDING, reason=reason, note=note)
                action = _Action.REFUND
            conn.execute(update(p).where(p.c.id == payment.id).values(**values))
            return replace(found, action=action, payment=replace(payment, **values))

        return work

    async def _cancelled(self, event: ProviderEvent) -> Confirmation:
        """Mark a payment nobody made as cancelled; the order keeps waiting."""
        p = t.payment
        now = self._clock()

        def work(conn: Connection) -> tuple[int, int] | None:
            row = conn.execute(
                update(p)
                .where(
                    p.c.provider == event.provider,
                    p.c.external_id == event.external_id,
                    p.c.status == P.CREATED,
                )
                .values(status=P.CANCELLED, updated_at=now)
                .returning(p.c.id, p.c.order_id)
            ).first()
            return None if row is None else (row.id, row.order_id)

        cancelled = await self._db.write(work)
        if cancelled is None:  # unknown, or already paid or cancelled: a late or repeated event
            return Confirmation(Outcome.IGNORED, event.order_id)
        return Confirmation(Outcome.CANCELLED, cancelled[1], cancelled[0])

    async def _give_back(self, payment: PaymentRecord, recorded: _Recorded) -> Confirmation:
        """Refund a payment already marked REFUNDING (by the one caller that marked it)."""
        reason = _reason(payment)
        try:
            refund_id = await self._provider(payment.provider).refund(payment)
        except (RefundError, UnknownProviderError) as error:
            log.error("payment %s must be refunded by hand: %s", payment.id, error)
            await self._set(
                payment.id, (P.REFUNDING,), status=P.REFUND_FAILED, note=str(error)[:500]
            )
            outcome = Outcome.REFUND_FAILED
        else:
            await self._set(
                payment.id,
                (P.REFUNDING,),
                status=P.REFUNDED,
                refund_id=refund_id,
                refunded_at=self._clock(),
            )
            outcome = Outcome.REFUNDED
        await self._notify(recorded, payment, outcome)
        return Confirmation(outcome, payment.order_id, payment.id, reason)

    # Refunds on request -----------------------------------------------------------------

    async def refund(
        self, order_id: int, *, actor: str = "staff", note: str | None = None
    ) -> PaymentRecord:
        """Give the money of a paid order back at its provider and mark the order refunded.

        Raises:
            IllegalTransitionError: the order is not in a state that can be refunded.
            PaymentError: no payment paid it, or the provider did not refund (the order stays).
        """
        p = t.payment
        now = self._clock()

        def claim(conn: Connection) -> tuple[PaymentRecord, int, str]:
            o = t.order.c
            order = _held_order(conn, order_id, o.status, o.customer_id, o.channel)
            if order is None:
                raise NotFoundError("order", order_id)
            status = OrderStatus(order.status)
            if OrderStatus.REFUNDED not in NEXT[status]:
                raise IllegalTransitionError(
                    order_id, status, OrderStatus.REFUNDED, "it is not paid"
                )
            payment = _load(conn, p.c.claim_order_id == order_id, p.c.status == P.SUCCEEDED)
            if payment is None:
                raise PaymentError(f"order {order_id}: no settled payment to refund")
            values: dict[str, Any] = {
                "status": P.REFUNDING,
                "reason": RefundReason.REQUESTED,
                "note": note,
                "updated_at": now,
            }
            conn.execute(update(p).where(p.c.id == payment.id).values(**values))
            return replace(payment, **values), order.customer_id, order.channel

        payment, customer_id, channel = await self._db.write(claim)
        try:
            refund_id = await self._provider(payment.provider).refund(payment)
        except (RefundError, UnknownProviderError) as error:
            await self._set(
                payment.id, (P.REFUNDING,), status=P.SUCCEEDED, reason=None, note=str(error)[:500]
            )
            raise PaymentError(f"order {order_id}: the refund failed: {error}") from error
        refunded = await self._set(
            payment.id,
            (P.REFUNDING,),
            status=P.REFUNDED,
            refund_id=refund_id,
            refunded_at=self._clock(),
        )
        await self._orders.transition(order_id, OrderStatus.REFUNDED, actor=actor, note=note)
        await self._notify(
            _Recorded(_Action.REFUND, payment, customer_id, channel), payment, Outcome.REFUNDED
        )
        assert refunded is not None
        return refunded

    # Telegram ---------------------------------------------------------------------------

    async def telegram_pre_checkout(
        self, query: PreCheckout, *, locale: str = "en"
    ) -> PreCheckoutAnswer:
        """Answer Telegram's last question before money moves: may this invoice be paid now?"""
        lang = Language.of(locale)
        payment = await self._telegram_payment(query.invoice_payload)
        if payment is None:
            log.warning("pre-checkout %s with a payload that is not ours", query.query_id)
            return PreCheckoutAnswer(False, lang._(INVALID_INVOICE))
        if query.shipping_option_id or query.name or query.phone or query.address:
            shipped = await self._db.write(self._ship(payment, query, self._clock()))
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

    async def telegram_shipping(self, invoice_payload: str) -> list[ShippingChoice]:
        """Return the delivery options a flexible invoice offers, each priced in its currency.

        An option adds what the order would cost with it beyond the invoiced amount; options
        cheaper than the invoice already is are left out. Empty when the invoice is not ours,
        its order no longer waits for payment, or nothing in it ships.
        """
        payment = await self._telegram_payment(invoice_payload)
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
        choices = []
        for option in self._orders.delivery.options:
            total = _with_delivery(order, option)
            if total >= invoiced:
                choices.append(ShippingChoice(option.id, total - invoiced))
        return choices

    def _ship(
        self, payment: PaymentRecord, query: PreCheckout, now: datetime
    ) -> Callable[[Connection], PaymentRecord | None]:
        """Return a transaction that takes what Telegram's payment form collected into the order.

        The delivery option chosen on a flexible invoice sets the order's delivery price and
        total, and the payment's amount with them (so the amount checks hold), in one
        transaction and only while the order waits for this payment: a settled or lapsed
        order is left alone. None when it cannot be done (the caller refuses the payment).
        """
        p = t.payment

        def work(conn: Connection) -> PaymentRecord | None:
            query_order = select(t.order).where(t.order.c.id == payment.order_id)
            if conn.dialect.name != "sqlite":  # decided one at a time with the order's payments
                query_order = query_order.with_for_update()
            row = conn.execute(query_order).first()
            fresh = _load(conn, p.c.id == payment.id)
            if row is None or fresh is None or fresh.status != P.CREATED:
                return None
            order = OrderView.from_row(row)
            if (order.status, order.reservation) != (OrderStatus.PENDING_PAYMENT, Reservation.HELD):
                return None
            values: dict[str, Any] = {"updated_at": now}
            if query.name:
                values["contact_name"] = query.name
            if query.phone:
                values["contact_phone"] = query.phone
            if query.shipping_option_id:
                try:
                    option = self._orders.delivery.get(
                        query.shipping_option_id, digital_only=order.digital
                    )
                except UnknownDeliveryError:
                    return None
                total = _with_delivery(order, option)
                invoiced = _invoiced(fresh)
                if option.id != query.shipping_option_id or total < invoiced:
                    return None  # not an option the invoice offered
                values.update(
                    delivery_method=option.id,
                    delivery_price=option.price_for(order.subtotal - order.discount),
                    total=total,
                    delivery_address=query.address if option.needs_address else None,
                )
                data = {**fresh.data, "invoiced": invoiced}
                conn.execute(
                    update(p)
                    .where(p.c.id == fresh.id, p.c.status == P.CREATED)
                    .values(amount=total, data=data, updated_at=now)
                )
                fresh = replace(fresh, amount=total, data=data, updated_at=now)
            elif query.address and order.delivery_method != NO_DELIVERY.id:
                values["delivery_address"] = query.address
            conn.execute(update(t.order).where(t.order.c.id == order.id).values(**values))
            return fresh

        return work

    async def telegram_paid(self, paid: SuccessfulPayment) -> Confirmation:
        """Settle a Telegram successful_payment: once per charge, and one charge per order."""
        payment = await self._telegram_payment(paid.invoice_payload)
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
        return await self.confirm(event)

    async def _telegram_payment(self, payload_text: str) -> PaymentRecord | None:
        """Return the Telegram payment an invoice payload names, if we signed it."""
        codec = await self.payload_codec()
        payload = codec.read(payload_text)
        if payload is None:
            return None
        payment = await self.payment(payload.payment_id)
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

    async def payload_codec(self) -> PayloadCodec:
        """Return the codec of Telegram invoice payloads, under the server's key."""
        if self._codec is None:
            self._codec = await payload_codec(self._keys)
        return self._codec

    # Pages ------------------------------------------------------------------------------

    async def page(self, token: str, *, returned: bool = False) -> CheckoutPage:
        """Return what a payment's page shows; `returned` when the customer comes back from the provider.

        Coming back, the provider is asked how the payment stands, so the order is paid
        even before (or without) its webhook.

        Raises:
            LinkNotFoundError: no such token.
            LinkExpiredError: the link's time ran out before anyone paid.
        """
        payment = await self._by_token(token)
        if returned and payment.status in (P.CREATED, P.CAPTURED):
            provider = self.providers.get(payment.provider)
            if isinstance(provider, PaymentLookup):
                event = await provider.lookup(payment)
                if event is not None:
                    await self.confirm(event)
                    payment = await self._by_token(token)
        details = await self._orders.get(payment.order_id)
        order = details.order
        payable = (
            payment.provider == SANDBOX
            and payment.status == P.CREATED
            and order.status == OrderStatus.PENDING_PAYMENT
            and order.reservation == Reservation.HELD
        )
        return CheckoutPage(payment, details, payable)

    async def sandbox_act(self, token: str, action: str) -> None:
        """Press Pay or Cancel on the sandbox page: the sandbox sends its signed webhook.

        Raises:
            LinkNotFoundError: no such token, or not a sandbox payment.
            LinkExpiredError: the link's time ran out.
            PaymentError: the webhook was not accepted (the page says to try again).
        """
        payment = await self._by_token(token)
        if payment.provider != SANDBOX or self._hosted is None:
            raise LinkNotFoundError("not a sandbox payment")
        if payment.status != P.CREATED:
            return  # decided already: the page shows how
        kind = EventType.PAID if action == "pay" else EventType.CANCELLED
        status = await self._hosted.deliver(payment, kind)
        if status >= 300:
            raise PaymentError(f"its webhook answered {status} at {self._hosted.webhook_url}")

    async def _by_token(self, token: str) -> PaymentRecord:
        """Return the payment of a page token; refuse unknown tokens and lapsed links."""
        if not 16 <= len(token) <= 64:
            raise LinkNotFoundError("no such payment link")

        def work(conn: Connection) -> PaymentRecord | None:
            return _load(conn, t.payment.c.token == token)

        payment = await self._db.read(work)
        if payment is None:
            raise LinkNotFoundError("no such payment link")
        if payment.status in (P.CREATED, P.FAILED) and payment.expires_at <= self._clock():
            raise LinkExpiredError("the payment link has expired")
        return payment

    # Reading ----------------------------------------------------------------------------

    async def payment(self, payment_id: int) -> PaymentRecord | None:
        """Return one payment attempt, or None."""

        def work(conn: Connection) -> PaymentRecord | None:
            return _load(conn, t.payment.c.id == payment_id)

        return await self._db.read(work)

    async def payments_for(self, order_id: int) -> list[PaymentRecord]:
        """Return every attempt to pay an order, oldest first."""

        def work(conn: Connection) -> list[PaymentRecord]:
            rows = conn.execute(
                select(t.payment).where(t.payment.c.order_id == order_id).order_by(t.payment.c.id)
            )
            return [PaymentRecord.from_row(row) for row in rows]

        return await self._db.read(work)

    async def close(self) -> None:
        """Close the providers' connections."""
        for provider in self.providers.values():
            close = getattr(provider, "close", None)
            if close is not None:
                await close()

    # Helpers ----------------------------------------------------------------------------

    def _provider(self, name: str) -> PaymentProvider:
        try:
            return self.providers[name]
        except KeyError:
            raise UnknownProviderError(f"payment provider {name!r} is not configured") from None

    async def _set(
        self, payment_id: int, current: tuple[PaymentStatus, ...], **values: Any
    ) -> PaymentRecord | None:
        """Update a payment if it is still in one of `current`; return it, or None if it was not."""
        values["updated_at"] = self._clock()
        p = t.payment

        def work(conn: Connection) -> PaymentRecord | None:
            row = conn.execute(
                update(p)
                .where(p.c.id == payment_id, p.c.status.in_([s.value for s in current]))
                .values(**values)
                .returning(*p.c)
            ).first()
            return None if row is None else PaymentRecord.from_row(row)

        return await self._db.write(work)

    async def _notify(self, recorded: _Recorded, payment: PaymentRecord, outcome: Outcome) -> None:
        """Tell listeners a payment settled; a failing listener never undoes anything."""
        notice = PaymentNotice(
            order_id=payment.order_id,
            customer_id=recorded.customer_id,
            channel=recorded.channel,
            payment_id=payment.id,
            provider=payment.provider,
            outcome=outcome,
            amount=payment.amount,
            currency=payment.currency,
            reason=_reason(payment),
        )
        for listener in self._listeners:
            try:
                await listener(notice)
            except Exception:
                log.exception("payment listener failed for payment %s", payment.id)


def _started(record: PaymentRecord, url: str | None, invoice: Any = None) -> PaymentStart:
    return PaymentStart(
        payment_id=record.id,
        order_id=record.order_id,
        provider=record.provider,
        amount=record.amount,
        currency=record.currency,
        expires_at=record.expires_at,
        url=url,
        invoice=invoice,
    )


def _load(conn: Connection, *where: Any) -> PaymentRecord | None:
    row = conn.execute(select(t.payment).where(*where)).first()
    return None if row is None else PaymentRecord.from_row(row)


def _bind(conn: Connection, event: ProviderEvent, order: Any, now: datetime) -> PaymentRecord:
    """Attach an event's provider id to the attempt it names, or record a new attempt.

    A Telegram charge completes the invoice's attempt; a second charge of the same
    invoice becomes an attempt of its own (so it can be refunded).
    """
    p = t.payment
    base = _load(conn, p.c.id == event.payment_id) if event.payment_id is not None else None
    if base is not None and (base.order_id != order.id or base.provider != event.provider):
        base = None
    if base is not None and base.external_id is None:
        conn.execute(
            update(p).where(p.c.id == base.id).values(external_id=event.external_id, updated_at=now)
        )
        return replace(base, external_id=event.external_id, updated_at=now)
    amount, currency = (base.amount, base.currency) if base else (order.total, order.currency)
    return _insert(
        conn,
        now,
        order_id=order.id,
        provider=event.provider,
        external_id=event.external_id,
        amount=amount,
        currency=currency,
        expires_at=now,
    )


def _insert(conn: Connection, now: datetime, **values: Any) -> PaymentRecord:
    """Record a new payment attempt, not yet paid."""
    values.update(status=P.CREATED, data={}, created_at=now, updated_at=now)
    row = conn.execute(t.payment.insert().values(**values).returning(*t.payment.c)).one()
    return PaymentRecord.from_row(row)


def _held_order(conn: Connection, order_id: int | None, *columns: Any) -> Any:
    """Return an order's `columns` (and id), holding its row so its payments are decided one at a time.

    PostgreSQL locks the row until the transaction ends; SQLite needs nothing, having one writer.
    """
    query = select(t.order.c.id, *columns).where(t.order.c.id == order_id)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    return conn.execute(query).first()


def _mismatch(
    event: ProviderEvent, payment: PaymentRecord, order_total: int, order_currency: str
) -> tuple[RefundReason | None, str | None]:
    """Return why an event's money is not this payment's (and the order's), or (None, None)."""
    currency = (event.currency or "").upper()
    paid = f"{event.amount} {currency or '?'}"
    if currency != payment.currency:
        return RefundReason.CURRENCY_MISMATCH, f"paid {paid}, the payment is in {payment.currency}"
    if event.amount != payment.amount:
        wanted = format_money(payment.amount, payment.currency)
        return RefundReason.AMOUNT_MISMATCH, f"paid {paid}, the payment is {wanted}"
    if payment.currency == order_currency and payment.amount != order_total:
        wanted = format_money(order_total, order_currency)
        return RefundReason.AMOUNT_MISMATCH, f"paid {paid}, the order is {wanted}"
    return None, None


def _invoiced(payment: PaymentRecord) -> int:
    """Return the amount a payment's Telegram invoice was made for (before a delivery was chosen)."""
    return int(payment.data.get("invoiced", payment.amount))


def _with_delivery(order: OrderView, option: DeliveryOption) -> int:
    """Return what an order costs delivered by `option` (its price counted as at checkout)."""
    goods = order.subtotal - order.discount
    return goods + option.price_for(goods)


def _reason(payment: PaymentRecord) -> RefundReason | None:
    return RefundReason(payment.reason) if payment.reason else None


def _unpayable(order_id: int, payment_id: int) -> Callable[[Connection], str | None]:
    """Return a read saying why an order cannot take a payment now (a message to translate), or None."""

    def work(conn: Connection) -> str | None:
        order = conn.execute(
            select(t.order.c.status, t.order.c.reservation).where(t.order.c.id == order_id)
        ).first()
        if order is None:
            return INVALID_INVOICE
        claimer = conn.execute(
            select(t.payment.c.id).where(t.payment.c.claim_order_id == order_id)
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
