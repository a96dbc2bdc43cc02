"""The sandbox: a built-in hosted checkout that behaves like a real provider, minus the money.

Two halves, as with a real provider:

- `SandboxProvider` is our integration: it starts a payment (a link to our own
  page ``/pay/{token}``), verifies the provider's signed webhooks, refunds.
- `SandboxCheckout` plays the provider's hosted side: when the customer presses
  Pay or Cancel it signs an event and delivers it over HTTP to
  ``POST /payments/sandbox/webhook``, so the demo and the tests confirm payments
  through exactly the path a real provider's webhook takes.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import aiohttp

from payments.interface import (
    EventType,
    PaymentError,
    PaymentRecord,
    ProviderEvent,
    Started,
    StartRequest,
    WebhookError,
)
from payments.keys import KeyRing, check_fresh, sign_webhook, verify_webhook
from shop.views import OrderView

SANDBOX = "sandbox"
SIGNATURE_HEADER = "Sandbox-Signature"
KEY_PURPOSE = "sandbox-webhook"
_TYPES = {"payment.succeeded": EventType.PAID, "payment.cancelled": EventType.CANCELLED}
_NAMES = {kind: name for name, kind in _TYPES.items()}

# Sends a webhook: (url, body, headers) -> HTTP status.
Sender = Callable[[str, bytes, Mapping[str, str]], Awaitable[int]]


class SandboxProvider:
    """Our side of the sandbox: links to our own checkout page, signed webhooks, refunds."""

    name = SANDBOX
    live = False  # test payments: no money moves
    # Our own events are a few hundred bytes; nothing bigger comes from the sandbox.
    max_body = 16 * 1024

    def __init__(self, keys: KeyRing, clock: Callable[[], datetime]) -> None:
        self._keys = keys
        self._clock = clock

    def quote(self, order: OrderView) -> tuple[int, str]:
        """Return the order's own total."""
        return order.total, order.currency

    async def start(self, request: StartRequest) -> Started:
        """Open a sandbox payment: its page is our own ``/pay/{token}``."""
        return Started(external_id=f"sbx_{secrets.token_urlsafe(16)}", url=request.page_url)

    def screen(self, headers: Mapping[str, str]) -> None:
        """Refuse at once a request whose signature header is missing, malformed or stale."""
        check_fresh(headers.get(SIGNATURE_HEADER), int(self._clock().timestamp()))

    async def verify(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
        """Check the signature and its age, then read the event."""
        now = int(self._clock().timestamp())
        key = await self._keys.key(KEY_PURPOSE)
        verify_webhook(key, body, headers.get(SIGNATURE_HEADER), now)
        try:
            event = json.loads(body)
            kind = _TYPES.get(event["type"])
            data = event["data"]
            if kind is None:
                return None
            return ProviderEvent(
                provider=SANDBOX,
                type=kind,
                external_id=str(data["payment"]),
                order_id=int(data["order_id"]),
                amount=int(data["amount"]),
                currency=str(data["currency"]),
                payment_id=int(data["payment_id"]),
                data={"event": str(event["id"])},
            )
        except (ValueError, KeyError, TypeError) as error:
            raise WebhookError(f"malformed sandbox event: {error!r}") from None

    async def refund(self, payment: PaymentRecord) -> str:
        """Give the (pretend) money back at once."""
        return f"sbx_re_{payment.id}"


class SandboxCheckout:
    """The sandbox's hosted side: turns Pay and Cancel into signed webhooks to the shop."""

    def __init__(
        self,
        keys: KeyRing,
        webhook_url: str,
        clock: Callable[[], datetime],
        send: Sender | None = None,
    ) -> None:
        self._keys = keys
        self.webhook_url = webhook_url
        self._clock = clock
        self._send = send or post

    async def deliver(self, payment: PaymentRecord, kind: EventType) -> int:
        """Sign the event for `payment` and send it to the shop's webhook; return the HTTP status.

        Raises:
            PaymentError: the webhook's address could not be reached (it is named).
        """
        body, headers = await self.signed(event_body(payment, kind))
        try:
            return await self._send(self.webhook_url, body, headers)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise PaymentError(
                f"its webhook could not reach {self.webhook_url} ({error})"
            ) from error

    async def signed(self, event: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        """Return `event` as a body and the headers that sign it now."""
        body = json.dumps(event, separators=(",", ":")).encode()
        key = await self._keys.key(KEY_PURPOSE)
        signature = sign_webhook(key, body, int(self._clock().timestamp()))
        return body, {"Content-Type": "application/json", SIGNATURE_HEADER: signature}


def event_body(payment: PaymentRecord, kind: EventType) -> dict[str, Any]:
    """Return the sandbox's event for `payment`: what it charged (or not), for which order."""
    return {
        "id": f"evt_{secrets.token_urlsafe(12)}",
        "type": _NAMES[kind],
        "data": {
            "payment": payment.external_id,
            "payment_id": payment.id,
            "order_id": payment.order_id,
            "amount": payment.amount,
            "currency": payment.currency,
        },
    }


async def post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
    """POST `body` to `url` and return the status, as a provider delivering a webhook does."""
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url, data=body, headers=dict(headers)) as response,
    ):
        await response.read()
        return response.status
