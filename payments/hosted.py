"""Payment pages: what `/pay/{token}` shows, and the sandbox checkout's Pay and Cancel.

A payment link opens our own page. For a real provider it shows how the payment
stands, and on the customer's return asks the provider directly, so the order
is paid even before (or without) the webhook. For the sandbox it is the hosted
checkout itself: Pay and Cancel send the sandbox's signed webhook, exactly the
path a real provider's webhook takes; Cancel also cancels the order, so its
stock is back on sale at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from payments import records
from payments.interface import (
    EventType,
    PaymentError,
    PaymentLookup,
    PaymentProvider,
    PaymentRecord,
    PaymentStatus,
)
from payments.sandbox import SANDBOX, SandboxCheckout
from payments.settlement import SettlementService
from shop import tables as t
from shop.db import Database
from shop.errors import IllegalTransitionError
from shop.models import OrderStatus, Reservation
from shop.orders import OrderDetails, OrderService
from shop.types import utcnow

log = logging.getLogger(__name__)

P = PaymentStatus


class LinkNotFoundError(PaymentError):
    """A payment page token that does not exist."""


class LinkExpiredError(PaymentError):
    """A payment page token whose time ran out before anyone paid."""


@dataclass(frozen=True, slots=True)
class CheckoutPage:
    """What the payment page shows: the payment, its order, and whether Pay is offered."""

    payment: PaymentRecord
    details: OrderDetails
    payable: bool


class HostedPages:
    """Reads payment pages and takes the sandbox checkout's Pay and Cancel."""

    def __init__(
        self,
        db: Database,
        orders: OrderService,
        settlement: SettlementService,
        providers: Mapping[str, PaymentProvider],
        *,
        sandbox: SandboxCheckout | None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._orders = orders
        self._settlement = settlement
        self._providers = providers
        self._sandbox = sandbox
        self._clock = clock

    async def page(self, token: str, *, returned: bool = False) -> CheckoutPage:
        """Return what a payment's page shows; `returned` when the customer comes back from the provider.

        Raises:
            LinkNotFoundError: no such token.
            LinkExpiredError: the link's time ran out before anyone paid.
        """
        payment = await self._by_token(token)
        if returned and payment.status == P.CREATED:
            provider = self._providers.get(payment.provider)
            if isinstance(provider, PaymentLookup):
                event = await provider.lookup(payment)
                if event is not None:
                    await self._settlement.confirm(event)
                    payment = await self._by_token(token)
        details = await self._orders.get(payment.order_id)
        order = details.order
        payable = (
            payment.provider == SANDBOX
            and self._sandbox is not None
            and payment.status == P.CREATED
            and order.status == OrderStatus.PENDING_PAYMENT
            and order.reservation == Reservation.HELD
        )
        return CheckoutPage(payment, details, payable)

    async def sandbox_act(self, token: str, action: str) -> None:
        """Press Pay or Cancel on the sandbox page: the sandbox sends its signed webhook.

        Cancel also cancels the order, giving its stock back at once.

        Raises:
            LinkNotFoundError: no such token, not a sandbox payment, or the sandbox is off.
            LinkExpiredError: the link's time ran out.
            PaymentError: the webhook was not accepted (the page says to try again).
        """
        payment = await self._by_token(token)
        if payment.provider != SANDBOX or self._sandbox is None:
            raise LinkNotFoundError("not a sandbox payment")
        if payment.status != P.CREATED:
            return  # decided already: the page shows how
        kind = EventType.PAID if action == "pay" else EventType.CANCELLED
        status = await self._sandbox.deliver(payment, kind)
        if status >= 300:
            raise PaymentError(f"its webhook answered {status} at {self._sandbox.webhook_url}")
        if kind is EventType.CANCELLED:
            # Paid, expired or cancelled meanwhile, it stays: the page shows how it stands.
            with contextlib.suppress(IllegalTransitionError):
                await self._orders.transition(
                    payment.order_id,
                    OrderStatus.CANCELLED,
                    actor="customer",
                    note="cancelled on the payment page",
                )

    async def _by_token(self, token: str) -> PaymentRecord:
        """Return the payment of a page token; refuse unknown tokens and lapsed links."""
        if not 16 <= len(token) <= 64:
            raise LinkNotFoundError("no such payment link")

        def work(conn: Connection) -> PaymentRecord | None:
            return records.load(conn, t.payment.c.token == token)

        payment = await self._db.read(work)
        if payment is None:
            raise LinkNotFoundError("no such payment link")
        if payment.status in (P.CREATED, P.FAILED) and payment.expires_at <= self._clock():
            raise LinkExpiredError("the payment link has expired")
        return payment
