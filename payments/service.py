"""PaymentService: the payments of the shop, behind one object every channel is handed.

- It starts payments: the amount and currency always come from the order in the
  database, never from a client or a message; the provider follows Telegram's
  rules and the settings (`method_for`).
- `settlement` counts verified provider events once and gives back money the
  shop does not keep (payments/settlement.py); `telegram` answers Telegram's
  payment form (payments/telegram_checkout.py); `pages` serves the payment
  pages and the sandbox checkout (payments/hosted.py).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection

from payments import records
from payments.hosted import HostedPages
from payments.interface import (
    ALREADY_PAID,
    NOT_PAYABLE,
    PaymentError,
    PaymentProvider,
    PaymentRecord,
    PaymentStart,
    PaymentStatus,
    StartRequest,
    TelegramInvoice,
    UnknownProviderError,
)
from payments.keys import KeyRing
from payments.sandbox import SandboxCheckout
from payments.settlement import SettlementService
from payments.telegram import TELEGRAM, TELEGRAM_STARS
from payments.telegram_checkout import TelegramCheckout
from shop import tables as t
from shop.analytics import EventKind, Visit, append_event
from shop.db import Database
from shop.models import Channel, OrderStatus, Reservation
from shop.orders import PAID_STATUSES, OrderService
from shop.types import utcnow
from shop.views import OrderView

log = logging.getLogger(__name__)

P = PaymentStatus
DEFAULT_LINK_TTL = timedelta(hours=1)


class NoPaymentMethodError(PaymentError):
    """No provider the shop has configured takes this payment (see `PaymentService.method_for`)."""


@dataclass(frozen=True, slots=True)
class Method:
    """A way customers pay, as `chatshop run` lists it: what it pays for, and whether money is real."""

    provider: str
    pays_for: str
    live: bool


class PaymentService:
    """Starts payments for orders; settles, refunds and shows them through its parts."""

    def __init__(
        self,
        db: Database,
        orders: OrderService,
        *,
        providers: Iterable[PaymentProvider],
        keys: KeyRing,
        public_base_url: str,
        link_provider: str | None,
        sandbox: SandboxCheckout | None = None,
        link_ttl: timedelta = DEFAULT_LINK_TTL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._orders = orders
        self.providers: dict[str, PaymentProvider] = {p.name: p for p in providers}
        if link_provider is not None and link_provider not in self.providers:
            raise ValueError(f"the link provider {link_provider!r} is not among the providers")
        self._base = public_base_url.rstrip("/")
        self.link_provider = link_provider
        self._link_ttl = link_ttl
        self._clock = clock
        self.settlement = SettlementService(db, orders, self.providers, clock=clock)
        self.telegram = TelegramCheckout(db, orders, self.settlement, keys, clock=clock)
        self.pages = HostedPages(
            db, orders, self.settlement, self.providers, sandbox=sandbox, clock=clock
        )

    def page_url(self, token: str) -> str:
        """Return the public address of a payment's page."""
        return f"{self._base}/pay/{token}"

    def method_for(self, channel: str, *, digital: bool) -> str | None:
        """Return the provider that takes a payment of this kind on this channel, or None if none does.

        On Telegram, digital goods are paid in Stars and physical goods by card invoice
        when a provider token is set; everything else by payment link, when a link
        provider is configured (Stripe, or the sandbox where it is allowed).
        """
        if channel == Channel.TELEGRAM:
            wanted = TELEGRAM_STARS if digital else TELEGRAM
            if wanted in self.providers:
                return wanted
        return self.link_provider

    def methods(self) -> list[Method]:
        """Return every way customers can pay here, and whether each moves real money."""
        pays_for = {
            TELEGRAM_STARS: "digital goods in Telegram (Stars)",
            TELEGRAM: "physical goods in Telegram (card invoices)",
        }
        return [
            Method(name, pays_for.get(name, "payment links"), provider.live)
            for name, provider in self.providers.items()
            if name in pays_for or name == self.link_provider
        ]

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
        provider is reused, so asking twice gives the same link. A link lasts at least
        as long as the order holds its stock.

        Raises:
            NotFoundError: no such order.
            NoPaymentMethodError: no configured provider takes this payment.
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
        name = provider or self.method_for(order.channel, digital=order.digital)
        if name is None:
            raise NoPaymentMethodError(f"order {order_id}: no payment provider takes it")
        chosen = self._provider(name)
        amount, currency = chosen.quote(order)
        expires_at = max(now + self._link_ttl, order.reserved_until)
        record, fresh = await self._db.write(
            self._open(order, name, amount, currency, return_url, expires_at, now)
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
            reference=record.token,
        )
        try:
            started = await chosen.start(request)
        except Exception as error:
            log.exception("cannot start a %s payment for order %s", name, order_id)
            if fresh:
                await self._change(record.id, status=P.FAILED, note=str(error)[:500])
            raise PaymentError(f"order {order_id}: {name} payments are unavailable now") from error
        expires = started.expires_at or record.expires_at
        if (started.external_id, started.url, expires) != (
            record.external_id,
            record.url,
            record.expires_at,
        ):
            changed = await self._change(
                record.id, external_id=started.external_id, url=started.url, expires_at=expires
            )
            record = changed or record
        return _started(record, started.url, started.invoice)

    def _open(
        self,
        order: OrderView,
        provider: str,
        amount: int,
        currency: str,
        return_url: str | None,
        expires_at: datetime,
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
            record = records.insert(
                conn,
                now,
                order_id=order.id,
                provider=provider,
                token=secrets.token_urlsafe(24),
                amount=amount,
                currency=currency,
                return_url=return_url,
                expires_at=expires_at,
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

    async def payment(self, payment_id: int) -> PaymentRecord | None:
        """Return one payment attempt, or None."""

        def work(conn: Connection) -> PaymentRecord | None:
            return records.load(conn, t.payment.c.id == payment_id)

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

    def _provider(self, name: str) -> PaymentProvider:
        try:
            return self.providers[name]
        except KeyError:
            raise UnknownProviderError(f"payment provider {name!r} is not configured") from None

    async def _change(self, payment_id: int, **values: object) -> PaymentRecord | None:
        """Update a payment still waiting to be paid (CREATED)."""
        now = self._clock()

        def work(conn: Connection) -> PaymentRecord | None:
            return records.change(conn, payment_id, (P.CREATED,), updated_at=now, **values)

        return await self._db.write(work)


def _started(
    record: PaymentRecord, url: str | None, invoice: TelegramInvoice | None = None
) -> PaymentStart:
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
