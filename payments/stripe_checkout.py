"""Stripe Checkout through the official `stripe` SDK: a Checkout Session per payment.

The API base is configurable (STRIPE_API_BASE) so tests run against a fake
Stripe on loopback that speaks the same wire format. Webhooks are verified by
`stripe.Webhook.construct_event` against STRIPE_WEBHOOK_SECRET.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import stripe

from payments.interface import (
    EventType,
    PaymentRecord,
    ProviderEvent,
    RefundDelayedError,
    RefundError,
    Started,
    StartRequest,
    WebhookError,
)
from payments.keys import check_fresh
from shop.i18n import Language
from shop.views import OrderView

if TYPE_CHECKING:
    from stripe.params.checkout._session_create_params import SessionCreateParams

log = logging.getLogger(__name__)

STRIPE = "stripe"
SIGNATURE_HEADER = "Stripe-Signature"
# Stripe lets a Checkout Session live between 30 minutes and 24 hours.
SESSION_MIN, SESSION_MAX = timedelta(minutes=30), timedelta(hours=24)
_PAID = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
_OVER = ("checkout.session.expired", "checkout.session.async_payment_failed")


class StripeProvider:
    """Stripe Checkout: hosted payment pages, signed webhooks, refunds."""

    name = STRIPE
    # A Checkout Session event is a few KB; its metadata, custom fields and texts are capped
    # by Stripe at a few tens of KB in all. Room for ten times that, and no more.
    max_body = 256 * 1024

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str | None,
        api_base: str | None = None,
        max_network_retries: int = 2,
    ) -> None:
        self._http = stripe.AIOHTTPClient()
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=max_network_retries,
        )
        self._webhook_secret = webhook_secret
        # Test-mode keys take no real money (Stripe's own prefixes).
        self.live = not api_key.startswith(("sk_test_", "rk_test_"))

    def quote(self, order: OrderView) -> tuple[int, str]:
        """Return the order's own total."""
        return order.total, order.currency

    async def start(self, request: StartRequest) -> Started:
        """Create a Checkout Session for the order; its page comes back to ours when done."""
        order = request.order
        metadata = {"order_id": str(order.id), "payment_id": str(request.payment_id)}
        expires_at = _session_expiry(request)
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": _line_items(request),
            "success_url": f"{request.page_url}?result=success",
            "cancel_url": f"{request.page_url}?result=cancel",
            # Ours alone, random, stored before the session exists: an event that carries
            # it back is about our session even if a crash kept us from storing its id.
            "client_reference_id": request.reference,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "locale": "ru" if request.locale == "ru" else "en",
            "expires_at": int(expires_at.timestamp()),
        }
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": f"chatshop-checkout-{request.payment_id}"}
            )
        except stripe.StripeError as error:
            raise RuntimeError(f"Stripe refused the Checkout Session: {error}") from error
        if session.amount_total != request.amount or session.currency != request.currency.lower():
            raise RuntimeError(
                f"Stripe priced the session at {session.amount_total} {session.currency}, "
                f"not {request.amount} {request.currency}"
            )
        return Started(external_id=session.id, url=session.url, expires_at=expires_at)

    def screen(self, headers: Mapping[str, str]) -> None:
        """Refuse at once a request that is not signed now (Stripe's header is ours in form)."""
        self._secret()
        # The SDK checks the age against the wall clock (its default five minutes); so do we.
        check_fresh(headers.get(SIGNATURE_HEADER), int(time.time()))

    async def verify(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
        """Verify the Stripe-Signature header and read the Checkout Session's event."""
        self.screen(headers)  # the SDK itself raises TypeError on a signature it cannot compare
        secret = self._secret()
        try:
            event = stripe.Webhook.construct_event(body, headers.get(SIGNATURE_HEADER), secret)
        except stripe.SignatureVerificationError as error:
            raise WebhookError(f"bad Stripe signature: {error.user_message or error}") from None
        except ValueError as error:
            raise WebhookError(f"malformed Stripe event: {error}") from None
        session: dict[str, Any] = event.data.object.to_dict()
        if event.type in _PAID:
            if session.get("payment_status") not in ("paid", "no_payment_required"):
                return None  # paid later by a delayed method: async_payment_succeeded follows
            return _event(session, EventType.PAID, {"event": event.id})
        if event.type in _OVER:
            return _event(session, EventType.CANCELLED, {"event": event.id})
        return None

    def _secret(self) -> str:
        """Return the webhook secret; refuse every webhook while there is none to check with."""
        if not self._webhook_secret:
            raise WebhookError(
                "STRIPE_WEBHOOK_SECRET is not set: Stripe webhooks cannot be trusted"
            )
        return self._webhook_secret

    async def lookup(self, payment: PaymentRecord) -> ProviderEvent | None:
        """Ask Stripe how the session stands (the customer came back from it)."""
        if payment.external_id is None:
            return None
        try:
            session = await self._client.v1.checkout.sessions.retrieve_async(payment.external_id)
        except stripe.StripeError as error:
            log.warning("cannot read Stripe session %s: %s", payment.external_id, error)
            return None
        values: dict[str, Any] = session.to_dict()
        if values.get("payment_status") in ("paid", "no_payment_required"):
            kind = EventType.PAID
        elif values.get("status") == "expired":
            kind = EventType.CANCELLED
        else:
            return None
        try:
            return _event(values, kind, {"lookup": "return"})
        except WebhookError as error:
            log.warning("cannot read Stripe session %s: %s", payment.external_id, error)
            return None

    async def refund(self, payment: PaymentRecord) -> str:
        """Refund the session's payment intent in full, once however often asked.

        Retries carry the same idempotency key, so Stripe answers them with the first
        refund; past the key's day, Stripe says the charge is refunded already.
        """
        if not payment.charge_id:
            raise RefundError(f"no payment intent known for Stripe session {payment.external_id}")
        try:
            refund = await self._client.v1.refunds.create_async(
                {"payment_intent": payment.charge_id},
                {"idempotency_key": f"chatshop-refund-{payment.id}"},
            )
        except stripe.InvalidRequestError as error:
            if error.code == "charge_already_refunded":
                return f"already refunded: {payment.charge_id}"
            raise RefundError(
                f"Stripe refused the refund: {error.user_message or error}"
            ) from error
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
            raise RefundDelayedError(f"Stripe did not refund yet: {error}") from error
        except stripe.StripeError as error:
            raise RefundError(
                f"Stripe refused the refund: {error.user_message or error}"
            ) from error
        return refund.id

    async def close(self) -> None:
        """Close the HTTP connections to Stripe."""
        await self._http.close_async()  # type: ignore[no-untyped-call]  # untyped in the SDK


def _line_items(request: StartRequest) -> list[Any]:
    """Return the session's lines: one per product and the delivery.

    Stripe has no negative lines, so an order with a discount is one line
    of its total, named after the order and listing its products.
    """
    order, currency, locale = request.order, request.currency.lower(), request.locale
    _ = Language.of(locale)._

    def line(name: str, amount: int, quantity: int = 1, description: str | None = None) -> Any:
        product: dict[str, str] = {"name": name}
        if description:
            product["description"] = description[:500]
        price = {"currency": currency, "unit_amount": amount, "product_data": product}
        return {"price_data": price, "quantity": quantity}

    titles = [f"{ln.title_i18n.get(locale, ln.title)} × {ln.quantity}" for ln in request.lines]
    if order.discount:
        return [line(_("Order #{order}").format(order=order.id), order.total, 1, ", ".join(titles))]
    lines = [
        line(ln.title_i18n.get(locale, ln.title), ln.unit_price, ln.quantity)
        for ln in request.lines
    ]
    if order.delivery_price:
        lines.append(line(_("Delivery"), order.delivery_price))
    return lines


def _event(session: Mapping[str, Any], kind: EventType, data: dict[str, str]) -> ProviderEvent:
    """Return our event for a Checkout Session Stripe reported on (ours or not: settlement decides).

    Every event on the account reaches every endpoint, so a session of another
    application is normal here: nothing in it is trusted to name our order.
    """
    try:
        session_id = str(session["id"])
    except KeyError:
        raise WebhookError(
            f"a Checkout Session without an id: {json.dumps(dict(session))[:200]}"
        ) from None
    reference = session.get("client_reference_id")
    intent = session.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    amount = session.get("amount_total")
    return ProviderEvent(
        provider=STRIPE,
        type=kind,
        external_id=session_id,
        order_id=None,
        amount=amount if isinstance(amount, int) else None,
        currency=str(session.get("currency") or "").upper() or None,
        reference=reference if isinstance(reference, str) else None,
        charge_id=str(intent) if intent else None,
        data=data,
    )


def _session_expiry(request: StartRequest) -> datetime:
    """Return when the session lapses: the payment's own time, within what Stripe allows.

    Stripe refuses a session shorter than 30 minutes and ignores none longer than
    24 hours; a minute more than the minimum leaves room for the request's way there.
    """
    shortest = request.now + SESSION_MIN + timedelta(minutes=1)
    longest = request.now + SESSION_MAX
    return min(max(request.expires_at, shortest), longest)
