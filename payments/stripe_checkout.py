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
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import stripe

from payments.interface import (
    EventType,
    PaymentRecord,
    ProviderEvent,
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

    def quote(self, order: OrderView) -> tuple[int, str]:
        """Return the order's own total."""
        return order.total, order.currency

    async def start(self, request: StartRequest) -> Started:
        """Create a Checkout Session for the order; its page comes back to ours when done."""
        order = request.order
        metadata = {"order_id": str(order.id), "payment_id": str(request.payment_id)}
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": _line_items(request),
            "success_url": f"{request.page_url}?result=success",
            "cancel_url": f"{request.page_url}?result=cancel",
            "client_reference_id": str(request.payment_id),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "locale": "ru" if request.locale == "ru" else "en",
        }
        if SESSION_MIN < request.expires_at - request.now <= SESSION_MAX:
            params["expires_at"] = int(request.expires_at.timestamp())
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
        return Started(external_id=session.id, url=session.url)

    def screen(self, headers: Mapping[str, str]) -> None:
        """Refuse at once a request that is not signed now (Stripe's header is ours in form)."""
        self._secret()
        # The SDK checks the age against the wall clock (its default five minutes); so do we.
        check_fresh(headers.get(SIGNATURE_HEADER), int(time.time()))

    async def verify(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
        """Verify the Stripe-Signature header and read the Checkout Session's event."""
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
        """Refund the session's payment intent in full (once, whatever retries)."""
        if not payment.charge_id:
            raise RefundError(f"no payment intent known for Stripe session {payment.external_id}")
        try:
            refund = await self._client.v1.refunds.create_async(
                {"payment_intent": payment.charge_id},
                {"idempotency_key": f"chatshop-refund-{payment.id}"},
            )
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
    """Return our event for a Checkout Session Stripe reported on."""
    metadata = session.get("metadata") or {}
    order_id = metadata.get("order_id")
    payment_id = metadata.get("payment_id") or session.get("client_reference_id")
    intent = session.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    try:
        return ProviderEvent(
            provider=STRIPE,
            type=kind,
            external_id=str(session["id"]),
            order_id=int(order_id) if order_id is not None else None,
            amount=session.get("amount_total"),
            currency=str(session.get("currency") or "").upper() or None,
            payment_id=int(payment_id) if payment_id is not None else None,
            charge_id=str(intent) if intent else None,
            data=data,
        )
    except (KeyError, ValueError) as error:
        raise WebhookError(
            f"malformed Checkout Session: {json.dumps(dict(session))[:200]}"
        ) from error
