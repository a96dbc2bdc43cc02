"""Settlement: each verified payment counts once, and money the shop does not keep goes back, through any crash.

- An event counts only once verified (a signed webhook, the provider's API, a
  Telegram update through the bot), only for a payment this shop recorded (a
  provider id, or a reference only we know), and only for what it says: an
  amount or currency other than the payment's is refused, recorded, refunded.
- Recording a payment and settling its order are one transaction, holding the
  order's row (`shop.orders.settle`): a crash leaves either nothing or both,
  and concurrent deliveries of one event settle it once.
- Money that is not kept (another amount, a second charge, an order that can no
  longer take it, a refund staff ask for) is first marked REFUNDING, then given
  back at the provider, then marked REFUNDED (with the order, for a refund staff
  asked for) in one transaction. A refund the provider did not confirm, or that a
  crash interrupted, is tried again with backoff by `recover`, from any process;
  providers refund once however often asked, so a repeat is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from payments import records
from payments.interface import (
    SETTLED,
    Confirmation,
    EventType,
    Outcome,
    PaymentError,
    PaymentProvider,
    PaymentRecord,
    PaymentStatus,
    ProviderEvent,
    RefundDelayedError,
    RefundError,
    RefundReason,
    UnknownProviderError,
    WebhookError,
    WebhookVerifier,
)
from shop import orders as order_rules
from shop import outbox
from shop import tables as t
from shop.db import Database
from shop.errors import IllegalTransitionError, NotFoundError
from shop.models import OrderStatus
from shop.money import format_money
from shop.orders import NEXT, OrderService, Settlement
from shop.types import utcnow
from shop.views import OrderView

log = logging.getLogger(__name__)

P = PaymentStatus
p = t.payment

REFUND_TIMEOUT = 10.0  # seconds a provider has to answer a refund before we try again later
# A refund in flight is left to its own process this long before another one retries it.
REFUND_GRACE = timedelta(seconds=15)
RETRY_LONGEST = timedelta(hours=1)
RETRIES = 30  # about a day of tries, the longest an hour apart; then staff act


class _Action(Enum):
    NOT_OURS = "not_ours"
    DUPLICATE = "duplicate"
    PAID = "paid"
    REFUND = "refund"


@dataclass(frozen=True, slots=True)
class _Decision:
    """What recording an event decided, with what the steps after the commit need."""

    action: _Action
    payment: PaymentRecord | None = None
    order: OrderView | None = None


class SettlementService:
    """Records verified provider events, settles orders once, refunds, and finishes what a crash left."""

    def __init__(
        self,
        db: Database,
        orders: OrderService,
        providers: Mapping[str, PaymentProvider],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._orders = orders
        self._providers = providers
        self._clock = clock

    async def handle_webhook(
        self, provider: str, body: bytes, headers: Mapping[str, str]
    ) -> Confirmation:
        """Verify a provider's webhook and act on it.

        Raises:
            UnknownProviderError: no such provider, or it sends no webhooks.
            WebhookError: the request does not prove it comes from the provider.
        """
        verifier = self._providers.get(provider)
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
        decision = await self._db.write(self._decide(event, self._clock()))
        payment, order = decision.payment, decision.order
        if payment is None or order is None:
            log.warning(
                "a %s payment %s is not one of ours: nothing changed",
                event.provider,
                event.external_id,
            )
            return Confirmation(Outcome.UNKNOWN_ORDER, event.order_id)
        if decision.action is _Action.PAID:
            return Confirmation(Outcome.PAID, order.id, payment.id)
        if decision.action is _Action.REFUND:
            outcome = await self._give_back(payment, order)
            return Confirmation(outcome, order.id, payment.id, _reason(payment))
        return Confirmation(Outcome.DUPLICATE, order.id, payment.id, _reason(payment))

    def _decide(self, event: ProviderEvent, now: datetime) -> Callable[[Connection], _Decision]:
        """Return the transaction that records a paid event and settles its order, or marks the money for return."""

        def work(conn: Connection) -> _Decision:
            found = _find(conn, event)
            if found is None:
                return _Decision(_Action.NOT_OURS)
            order = order_rules.lock_order(conn, found.order_id)
            # Again, under the order's lock: another delivery of this event may have been first.
            payment = _find(conn, event)
            if order is None or payment is None:
                return _Decision(_Action.NOT_OURS)
            if event.order_id is not None and event.order_id != order.id:
                return _Decision(_Action.NOT_OURS)
            payment = _bind(conn, payment, event, now)
            if payment.status in SETTLED:
                return _Decision(_Action.DUPLICATE, payment, order)
            values: dict[str, Any] = {"updated_at": now, "data": {**payment.data, **event.data}}
            if event.charge_id:
                values["charge_id"] = event.charge_id
            reason, note = _mismatch(event, payment, order)
            if reason is None:
                reason, note = _second_charge(conn, payment, order)
            if reason is None:
                settled = order_rules.settle(
                    conn, order.id, now, actor=f"payment:{payment.provider}"
                )
                if settled is Settlement.PAID:
                    values.update(status=P.SUCCEEDED, claim_order_id=order.id, paid_at=now)
                elif settled is Settlement.ALREADY_PAID:
                    reason, note = RefundReason.ALREADY_PAID, "the order was paid otherwise"
                else:
                    reason = RefundReason.CANNOT_FULFIL
                    note = "the order can no longer take a payment (cancelled, or its hold ran out and the stock or promo code is gone)"
            if reason is not None:
                values.update(_refunding(reason, note, now))
            stored = records.change(conn, payment.id, (payment.status,), **values)
            assert stored is not None  # decided under the order's lock
            action = _Action.PAID if reason is None else _Action.REFUND
            return _Decision(action, stored, order)

        return work

    async def _cancelled(self, event: ProviderEvent) -> Confirmation:
        """Mark a payment nobody made as cancelled; the order keeps waiting."""
        now = self._clock()

        def work(conn: Connection) -> PaymentRecord | None:
            found = _find(conn, event)
            if found is None or found.external_id not in (None, event.external_id):
                return None
            return records.change(conn, found.id, (P.CREATED,), status=P.CANCELLED, updated_at=now)

        cancelled = await self._db.write(work)
        if cancelled is None:  # unknown, or already paid or cancelled: a late or repeated event
            return Confirmation(Outcome.IGNORED, event.order_id)
        return Confirmation(Outcome.CANCELLED, cancelled.order_id, cancelled.id)

    # Refunds ----------------------------------------------------------------------------

    async def refund(
        self, order_id: int, *, actor: str = "staff", note: str | None = None
    ) -> PaymentRecord:
        """Give the money of a paid order back at its provider and mark the order refunded.

        Returns the payment: REFUNDED, or REFUNDING when the provider has not confirmed
        yet (it is tried again until it does; the order is refunded then).

        Raises:
            NotFoundError: no such order.
            IllegalTransitionError: the order is not in a state that can be refunded.
            PaymentError: no payment paid it, or the provider refused (the order stays).
        """
        now = self._clock()

        def claim(conn: Connection) -> tuple[PaymentRecord, OrderView]:
            order = order_rules.lock_order(conn, order_id)
            if order is None:
                raise NotFoundError("order", order_id)
            status = OrderStatus(order.status)
            if OrderStatus.REFUNDED not in NEXT[status]:
                reason = (
                    "it is already refunded" if status == OrderStatus.REFUNDED else "it is not paid"
                )
                raise IllegalTransitionError(order_id, status, OrderStatus.REFUNDED, reason)
            payment = records.load(conn, p.c.claim_order_id == order_id)
            if payment is None:
                raise PaymentError(f"order {order_id}: no payment of it is recorded here")
            if payment.status == P.REFUNDING:
                raise PaymentError(f"order {order_id}: a refund of it is under way already")
            data = {**payment.data, "refund_actor": actor}
            claimed = records.change(
                conn,
                payment.id,
                (P.SUCCEEDED, P.CAPTURED),
                data=data,
                **_refunding(RefundReason.REQUESTED, note, now),
            )
            if claimed is None:
                raise PaymentError(f"order {order_id}: its payment is {payment.status}")
            return claimed, order

        payment, order = await self._db.write(claim)
        outcome = await self._give_back(payment, order)
        if outcome is Outcome.REFUND_FAILED:
            stored = await self._read(payment.id)
            raise PaymentError(f"order {order_id}: the refund failed: {stored.note}")
        return await self._read(payment.id)

    async def _give_back(self, payment: PaymentRecord, order: OrderView) -> Outcome:
        """Refund a payment marked REFUNDING at its provider, and record what became of it."""
        try:
            provider = self._provider(payment.provider)
            async with asyncio.timeout(REFUND_TIMEOUT):
                refund_id = await provider.refund(payment)
        except RefundError as error:
            log.error("payment %s must be refunded by hand: %s", payment.id, error)
            return await self._refund_failed(payment, order, str(error))
        except (RefundDelayedError, UnknownProviderError, TimeoutError) as error:
            log.warning("refund of payment %s is not confirmed yet: %s", payment.id, error)
            return await self._retry_later(payment, order, str(error) or "no answer in time")
        except Exception as error:  # the provider's library failed us: try again later
            log.exception("refund of payment %s failed unexpectedly", payment.id)
            return await self._retry_later(payment, order, repr(error))
        return await self._refunded(payment, order, refund_id)

    async def _refunded(self, payment: PaymentRecord, order: OrderView, refund_id: str) -> Outcome:
        """Record a refund the provider made, and tell the customer, in one transaction.

        A refund staff asked for refunds the order with it (the customer is told of the
        order's new status); money not kept is told as such.
        """
        now = self._clock()
        requested = payment.reason == RefundReason.REQUESTED

        def work(conn: Connection) -> bool:
            locked = order_rules.lock_order(conn, order.id) if requested else order
            done = records.change(
                conn,
                payment.id,
                (P.REFUNDING,),
                status=P.REFUNDED,
                refund_id=refund_id,
                refunded_at=now,
                retry_at=None,
                updated_at=now,
            )
            if done is None or locked is None:
                return False  # another process recorded this refund first
            if requested:
                actor = str(payment.data.get("refund_actor", "staff"))
                order_rules.move(
                    conn, locked, OrderStatus.REFUNDED, now, actor=actor, note=payment.note
                )
            else:
                _tell_money(conn, done, order, now, returned=True)
            return True

        return Outcome.REFUNDED if await self._db.write(work) else Outcome.DUPLICATE

    async def _refund_failed(self, payment: PaymentRecord, order: OrderView, why: str) -> Outcome:
        """Record that the provider will not refund, and alert staff, who must.

        A refund staff asked for leaves the order paid; money the shop did not keep is
        promised back to the customer by the staff.
        """
        now = self._clock()
        requested = payment.reason == RefundReason.REQUESTED
        status = P.SUCCEEDED if requested else P.REFUND_FAILED
        reason = None if requested else payment.reason

        def work(conn: Connection) -> None:
            failed = records.change(
                conn,
                payment.id,
                (P.REFUNDING,),
                status=status,
                reason=reason,
                note=why[:500],
                retry_at=None,
                updated_at=now,
            )
            if failed is None:
                return
            alert = {"event": "refund_failed", "order_id": order.id, "note": why[:500]}
            outbox.to_staff(conn, outbox.Kind.STAFF_ALERT, alert, now)
            if not requested:
                _tell_money(conn, failed, order, now, returned=False)

        await self._db.write(work)
        return Outcome.REFUND_FAILED

    async def _retry_later(self, payment: PaymentRecord, order: OrderView, why: str) -> Outcome:
        """Schedule another try with backoff; after about a day of tries, give it to staff."""
        attempts = payment.attempts + 1
        if attempts >= RETRIES:
            return await self._refund_failed(
                payment,
                order,
                f"the provider did not confirm the refund after {attempts} tries: {why}",
            )
        now = self._clock()
        wait = min(RETRY_LONGEST, REFUND_GRACE * 2 ** (attempts - 1))

        def work(conn: Connection) -> None:
            records.change(
                conn,
                payment.id,
                (P.REFUNDING,),
                attempts=attempts,
                retry_at=now + wait,
                note=why[:500],
                updated_at=now,
            )

        await self._db.write(work)
        return Outcome.REFUND_PENDING

    # Recovery ---------------------------------------------------------------------------

    async def recover(self) -> datetime | None:
        """Finish what a crash or an unanswered provider left: settle captured payments, retry due refunds.

        Safe to run from several processes at once. Returns when the next refund
        retry is due, if any waits.
        """
        now = self._clock()

        def due(conn: Connection) -> list[PaymentRecord]:
            rows = conn.execute(
                select(p)
                .where(or_(p.c.status == P.CAPTURED, (p.c.status == P.REFUNDING) & _due(now)))
                .order_by(p.c.id)
            )
            return [PaymentRecord.from_row(row) for row in rows]

        for payment in await self._db.read(due):
            try:
                if payment.status == P.CAPTURED:
                    await self._resettle(payment)
                else:
                    await self._retry(payment)
            except Exception:  # one stuck payment must not stop the others
                log.exception("recovering payment %s failed; trying again later", payment.id)

        def next_due(conn: Connection) -> datetime | None:
            return conn.execute(
                select(p.c.retry_at)
                .where(p.c.status == P.REFUNDING)
                .order_by(p.c.retry_at)
                .limit(1)
            ).scalar()

        return await self._db.read(next_due)

    async def _retry(self, payment: PaymentRecord) -> None:
        """Try a due refund again, once across processes: the first to push its time on takes it."""
        now = self._clock()

        def take(conn: Connection) -> tuple[PaymentRecord, OrderView] | None:
            taken = conn.execute(
                p.update()
                .where(p.c.id == payment.id, p.c.status == P.REFUNDING, _due(now))
                .values(retry_at=now + REFUND_GRACE)
                .returning(*p.c)
            ).first()
            if taken is None:
                return None
            order = conn.execute(select(t.order).where(t.order.c.id == payment.order_id)).one()
            return PaymentRecord.from_row(taken), OrderView.from_row(order)

        taken = await self._db.write(take)
        if taken is not None:
            log.info("trying the refund of payment %s again", payment.id)
            await self._give_back(*taken)

    async def _resettle(self, payment: PaymentRecord) -> None:
        """Settle a payment an earlier version left captured (its order paid or not): as its event would have."""
        now = self._clock()

        def work(conn: Connection) -> _Decision:
            order = order_rules.lock_order(conn, payment.order_id)
            fresh = records.load(conn, p.c.id == payment.id)
            if order is None or fresh is None or fresh.status != P.CAPTURED:
                return _Decision(_Action.DUPLICATE)
            settled = order_rules.settle(conn, order.id, now, actor=f"payment:{fresh.provider}")
            if settled is Settlement.REFUND:
                note = "recovered: the order can no longer take this payment"
                values = _refunding(RefundReason.CANNOT_FULFIL, note, now)
                action = _Action.REFUND
            else:  # paid now, or it had paid the order before the crash
                values = {"status": P.SUCCEEDED, "paid_at": fresh.paid_at or now, "updated_at": now}
                action = _Action.PAID
            stored = records.change(conn, fresh.id, (P.CAPTURED,), **values)
            return _Decision(action, stored, order)

        decision = await self._db.write(work)
        if decision.payment is None or decision.order is None:
            return
        log.info("recovered payment %s: %s", payment.id, decision.action.value)
        if decision.action is _Action.REFUND:
            await self._give_back(decision.payment, decision.order)

    # Helpers ----------------------------------------------------------------------------

    def _provider(self, name: str) -> PaymentProvider:
        try:
            return self._providers[name]
        except KeyError:
            raise UnknownProviderError(f"payment provider {name!r} is not configured") from None

    async def _read(self, payment_id: int) -> PaymentRecord:
        def work(conn: Connection) -> PaymentRecord | None:
            return records.load(conn, p.c.id == payment_id)

        payment = await self._db.read(work)
        assert payment is not None
        return payment


def _find(conn: Connection, event: ProviderEvent) -> PaymentRecord | None:
    """Return the payment an event is about, if this shop recorded it.

    By the provider's id; else, for a payment not yet bound to one, by what only
    we could have given the provider: our payment id inside a payload we signed,
    or an unguessable reference.
    """
    payment = records.load(
        conn, p.c.provider == event.provider, p.c.external_id == event.external_id
    )
    if payment is not None:
        return payment
    if event.reference is not None:
        return records.load(conn, p.c.provider == event.provider, p.c.token == event.reference)
    if event.payment_id is not None:
        return records.load(conn, p.c.provider == event.provider, p.c.id == event.payment_id)
    return None


def _bind(
    conn: Connection, payment: PaymentRecord, event: ProviderEvent, now: datetime
) -> PaymentRecord:
    """Attach the event's provider id to its payment; a second charge of one invoice becomes a payment of its own.

    (A Telegram invoice can be paid twice; the second charge must be refunded, so it needs its own row.)
    """
    if payment.external_id == event.external_id:
        return payment
    if payment.external_id is None:
        bound = records.change(
            conn, payment.id, (payment.status,), external_id=event.external_id, updated_at=now
        )
        assert bound is not None
        return bound
    return records.insert(
        conn,
        now,
        order_id=payment.order_id,
        provider=event.provider,
        external_id=event.external_id,
        amount=payment.amount,
        currency=payment.currency,
        expires_at=now,
    )


def _tell_money(
    conn: Connection, payment: PaymentRecord, order: OrderView, now: datetime, *, returned: bool
) -> None:
    """Queue the message telling a customer that a payment of theirs was not kept."""
    payload = {
        "order_id": order.id,
        "amount": payment.amount,
        "currency": payment.currency,
        "returned": returned,
    }
    outbox.to_customer(conn, order.customer_id, outbox.Kind.MONEY_RETURNED, payload, now)


def _due(now: datetime) -> Any:
    """Return the condition of a refund whose next try is due (never tried: due at once)."""
    return p.c.retry_at.is_(None) | (p.c.retry_at <= now)


def _refunding(reason: RefundReason, note: str | None, now: datetime) -> dict[str, Any]:
    """Return the values that mark a payment's money for return (tried at once, retried after the grace)."""
    return {
        "status": P.REFUNDING,
        "reason": reason,
        "note": note,
        "attempts": 0,
        "retry_at": now + REFUND_GRACE,
        "updated_at": now,
    }


def _mismatch(
    event: ProviderEvent, payment: PaymentRecord, order: OrderView
) -> tuple[RefundReason | None, str | None]:
    """Return why an event's money is not this payment's (and the order's), or (None, None)."""
    currency = (event.currency or "").upper()
    paid = f"{event.amount} {currency or '?'}"
    if currency != payment.currency:
        return RefundReason.CURRENCY_MISMATCH, f"paid {paid}, the payment is in {payment.currency}"
    if event.amount != payment.amount:
        wanted = format_money(payment.amount, payment.currency)
        return RefundReason.AMOUNT_MISMATCH, f"paid {paid}, the payment is {wanted}"
    if payment.currency == order.currency and payment.amount != order.total:
        wanted = format_money(order.total, order.currency)
        return RefundReason.AMOUNT_MISMATCH, f"paid {paid}, the order is {wanted}"
    return None, None


def _second_charge(
    conn: Connection, payment: PaymentRecord, order: OrderView
) -> tuple[RefundReason | None, str | None]:
    """Return ALREADY_PAID if another payment paid the order already, else (None, None)."""
    claimer = conn.execute(
        select(p.c.id).where(p.c.claim_order_id == order.id)
    ).scalar_one_or_none()
    if claimer is not None and claimer != payment.id:
        return (
            RefundReason.ALREADY_PAID,
            f"order {order.id} was paid by payment {claimer}: a second charge",
        )
    return None, None


def _reason(payment: PaymentRecord) -> RefundReason | None:
    return RefundReason(payment.reason) if payment.reason else None
