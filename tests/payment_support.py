"""What the payment tests share: orders waiting for payment, a web server on loopback, a fake Stripe."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from yarl import URL

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings, StripeSettings
from bot.web import build_web_app, serve
from payments.interface import EventType, ProviderEvent
from payments.keys import derive, sign_webhook
from payments.sandbox import KEY_PURPOSE, SANDBOX, SIGNATURE_HEADER
from shop import tables as t
from shop.migrate import upgrade
from shop.models import Channel
from shop.outbox import Kind
from shop.views import OrderView
from tests.conftest import FakeClock, row

PAYMENTS_SECRET = "test-payments-secret"
SANDBOX_KEY = derive(PAYMENTS_SECRET.encode(), KEY_PURPOSE)
STRIPE_KEY = "sk_test_chatshop"
STRIPE_WEBHOOK_SECRET = "whsec_test_chatshop"


async def pending_order(
    shop: Shop,
    *,
    sku: str = "A",
    price: int = 2_500,
    stock: int = 5,
    quantity: int = 2,
    digital: bool = False,
    channel: Channel = Channel.TELEGRAM,
    customer: str = "1",
) -> OrderView:
    """Return a fresh order waiting for payment, its stock held."""
    if await shop.catalog.product_by_sku(sku) is None:
        await shop.catalog.import_rows([row(sku, price=price, stock=stock, digital=digital)])
    product = await shop.catalog.product_by_sku(sku)
    assert product is not None
    buyer = await shop.customers.touch(channel, customer, display_name="Ann")
    assert buyer.id is not None
    await shop.carts.add(buyer.id, product.id, quantity)
    return await shop.orders.checkout(buyer.id, channel=channel)


async def paid_through_sandbox(shop: Shop, order: OrderView) -> OrderView:
    """Pay `order` through the sandbox, its payment confirmed as the provider's webhook would."""
    start = await shop.payments.start(order.id, provider=SANDBOX)
    payment = await shop.payments.payment(start.payment_id)
    assert payment is not None
    assert payment.external_id is not None
    await shop.payments.settlement.confirm(paid_event(order, payment.external_id, payment.id))
    return order


@dataclass
class Heard:
    """What the shop queued to say unasked after a point: its outbox, read back in order."""

    shop: Shop
    since: int

    @classmethod
    async def start(cls, shop: Shop) -> Heard:
        """Listen from now on."""

        def work(conn: Connection) -> int:
            return int(conn.execute(select(func.max(t.outbound_message.c.id))).scalar() or 0)

        return cls(shop, await shop.db.read(work))

    async def said(self) -> list[str]:
        """One word a message: the order's new status ("paid", "refunded"), "returned" or
        "not kept" for money, "answer", or "staff:<event>" for an alert to the staff."""

        def work(conn: Connection) -> list[tuple[str, dict[str, Any]]]:
            o = t.outbound_message
            rows = conn.execute(
                select(o.c.kind, o.c.payload).where(o.c.id > self.since).order_by(o.c.id)
            )
            return [(str(kind), dict(payload)) for kind, payload in rows]

        words = []
        for kind, payload in await self.shop.db.read(work):
            if kind == Kind.ORDER_STATUS:
                words.append(str(payload["status"]))
            elif kind == Kind.MONEY_RETURNED:
                words.append("returned" if payload["returned"] else "not kept")
            elif kind == Kind.STAFF_ANSWER:
                words.append("answer")
            else:
                words.append(f"staff:{payload['event']}")
        return words


async def state(shop: Shop, order_id: int) -> dict[str, Any]:
    """Everything a payment could change about an order: to compare before and after."""

    def work(conn: Connection) -> dict[str, Any]:
        order = conn.execute(
            select(t.order.c.status, t.order.c.reservation).where(t.order.c.id == order_id)
        ).one()
        stock = conn.execute(
            select(t.product.c.sku, t.product.c.stock, t.product.c.sold).order_by(t.product.c.sku)
        ).all()
        kinds = conn.execute(
            select(t.analytics_event.c.kind, func.count())
            .where(t.analytics_event.c.order_id == order_id)
            .group_by(t.analytics_event.c.kind)
        ).all()
        timeline = conn.execute(
            select(t.order_event.c.status).where(t.order_event.c.order_id == order_id)
        ).scalars()
        return {
            "order": tuple(order),
            "stock": [tuple(r) for r in stock],
            "analytics": dict(kinds),
            "timeline": list(timeline),
        }

    return await shop.db.read(work)


def paid_event(
    order: OrderView, external_id: str, payment_id: int | None = None, **changes: Any
) -> ProviderEvent:
    """A verified sandbox event saying `order` was paid in full (or as `changes` say)."""
    event = ProviderEvent(
        provider=SANDBOX,
        type=EventType.PAID,
        external_id=external_id,
        order_id=order.id,
        amount=order.total,
        currency=order.currency,
        payment_id=payment_id,
    )
    return replace(event, **changes)


def sandbox_event(
    order: OrderView,
    external_id: str,
    payment_id: int,
    *,
    kind: str = "payment.succeeded",
    amount: int | None = None,
    currency: str | None = None,
) -> bytes:
    """A sandbox webhook body, as the sandbox checkout sends it."""
    return json.dumps(
        {
            "id": f"evt_{secrets.token_hex(6)}",
            "type": kind,
            "data": {
                "payment": external_id,
                "payment_id": payment_id,
                "order_id": order.id,
                "amount": order.total if amount is None else amount,
                "currency": currency or order.currency,
            },
        }
    ).encode()


def sandbox_headers(body: bytes, clock: FakeClock, key: bytes = SANDBOX_KEY) -> dict[str, str]:
    """Headers signing `body` now, as the sandbox does."""
    signature = sign_webhook(key, body, int(clock.now.timestamp()))
    return {"Content-Type": "application/json", SIGNATURE_HEADER: signature}


def stripe_signature(
    payload: bytes, secret: str = STRIPE_WEBHOOK_SECRET, at: int | None = None
) -> str:
    """A Stripe-Signature header, computed the way Stripe documents it."""
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def free_socket() -> socket.socket:
    """A listening socket on a free loopback port (no race for the port number)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def open_request(
    url: str, headers: Mapping[str, str], declared: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Send a POST's head declaring a body of `declared` bytes, and none of the body yet."""
    where = URL(url)
    assert where.host is not None
    reader, writer = await asyncio.open_connection(where.host, where.port)
    head = [f"POST {where.path} HTTP/1.1", f"Host: {where.host}", f"Content-Length: {declared}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    await writer.drain()
    return reader, writer


async def status_of(reader: asyncio.StreamReader) -> int:
    """Return the status of the answer on a connection (a server that waits for more fails it)."""
    async with asyncio.timeout(10):
        line = await reader.readline()
    assert line, "the server closed the connection without an answer"
    return int(line.split()[1])


async def answer_before_the_body(url: str, headers: Mapping[str, str], declared: int) -> int:
    """Return the status a server answers a POST with before any of its `declared` bytes arrive."""
    reader, writer = await open_request(url, headers, declared)
    try:
        return await status_of(reader)
    finally:
        writer.close()


@dataclass
class Served:
    """A shop with its web server running on loopback."""

    shop: Shop
    url: str


@asynccontextmanager
async def served_shop(
    database_url: str, clock: FakeClock, **settings: Any
) -> AsyncIterator[Served]:
    """Run a migrated shop and its web server on a free loopback port."""
    sock = free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    shop = build_shop(
        Settings(
            database_url=database_url,
            public_base_url=url,
            payments_secret=PAYMENTS_SECRET,
            **settings,
        ),
        clock=clock,
    )
    await upgrade(shop.db)
    runner = await serve(build_web_app(shop), host="127.0.0.1", port=0, sock=sock)
    try:
        yield Served(shop, url)
    finally:
        await runner.cleanup()
        await shop.db.dispose()


@dataclass
class FakeStripe:
    """Stripe's API on loopback, for the calls chatshop makes, in Stripe's wire format."""

    url: str = ""
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    # Set "before" or "after": a refund request then hangs before (or after) Stripe makes the
    # refund, announcing itself in `refund_asked`, until `release` is set: the moment to kill.
    hold_refunds: str | None = None
    refund_asked: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    _idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.post("/v1/checkout/sessions", self._create_session),
                web.get("/v1/checkout/sessions/{id}", self._get_session),
                web.post("/v1/refunds", self._create_refund),
            ]
        )
        return app

    def pay(self, session_id: str) -> dict[str, Any]:
        """The customer pays on Stripe's page: the session completes."""
        session = self.sessions[session_id]
        session.update(
            status="complete", payment_status="paid", payment_intent=f"pi_{secrets.token_hex(8)}"
        )
        return session

    def event(self, kind: str, session: dict[str, Any]) -> bytes:
        """A webhook body for `session`, as Stripe sends it."""
        return json.dumps(
            {
                "id": f"evt_{secrets.token_hex(8)}",
                "object": "event",
                "api_version": "2025-01-01",
                "created": int(time.time()),
                "type": kind,
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "data": {"object": dict(session)},
            }
        ).encode()

    async def _create_session(self, request: web.Request) -> web.Response:
        form = await self._form(request, "/v1/checkout/sessions")
        if isinstance(form, web.Response):
            return form
        key = request.headers.get("Idempotency-Key")
        if key and key in self._idempotent:
            return web.json_response(self._idempotent[key])
        lines = form["line_items"]
        currency = lines[0]["price_data"]["currency"]
        total = sum(
            int(line["price_data"]["unit_amount"]) * int(line["quantity"]) for line in lines
        )
        session_id = f"cs_test_{secrets.token_hex(12)}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form["mode"],
            "amount_subtotal": total,
            "amount_total": total,
            "currency": currency,
            "status": "open",
            "payment_status": "unpaid",
            "payment_intent": None,
            "client_reference_id": form.get("client_reference_id"),
            "metadata": form.get("metadata", {}),
            "success_url": form["success_url"],
            "cancel_url": form["cancel_url"],
            "expires_at": int(form.get("expires_at", time.time() + 86_400)),
            "url": f"{self.url}/c/pay/{session_id}",
            "livemode": False,
        }
        self.sessions[session_id] = session
        if key:
            self._idempotent[key] = session
        return web.json_response(session)

    async def _get_session(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _stripe_error(401, "authentication_error", "Invalid API Key provided")
        session = self.sessions.get(request.match_info["id"])
        if session is None:
            return _stripe_error(404, "invalid_request_error", "No such checkout.session")
        self.requests.append(("GET", request.path, {}))
        return web.json_response(session)

    async def _create_refund(self, request: web.Request) -> web.Response:
        form = await self._form(request, "/v1/refunds")
        if isinstance(form, web.Response):
            return form
        if self.hold_refunds == "before":
            return await self._hold(_stripe_error(503, "api_error", "held by the test"))
        key = request.headers.get("Idempotency-Key")
        if key and key in self._idempotent:
            return web.json_response(self._idempotent[key])
        intent = form.get("payment_intent")
        paid = [s for s in self.sessions.values() if s["payment_intent"] == intent]
        if not paid:
            return _stripe_error(
                400, "invalid_request_error", f"No such payment_intent: '{intent}'"
            )
        refund = {
            "id": f"re_{secrets.token_hex(8)}",
            "object": "refund",
            "amount": paid[0]["amount_total"],
            "currency": paid[0]["currency"],
            "payment_intent": intent,
            "status": "succeeded",
        }
        self.refunds.append(refund)
        if key:
            self._idempotent[key] = refund
        if self.hold_refunds == "after":
            return await self._hold(web.json_response(refund))
        return web.json_response(refund)

    async def _hold(self, answer: web.Response) -> web.Response:
        """Hang until the test releases the request (having killed its client meanwhile)."""
        self.refund_asked.set()
        await self.release.wait()
        return answer

    async def _form(self, request: web.Request, path: str) -> dict[str, Any] | web.Response:
        if not self._authorized(request):
            return _stripe_error(401, "authentication_error", "Invalid API Key provided")
        if request.content_type != "application/x-www-form-urlencoded":
            return _stripe_error(400, "invalid_request_error", "form-encoded body expected")
        form = _nested(list((await request.post()).items()))
        self.requests.append(("POST", path, form))
        return form

    @staticmethod
    def _authorized(request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {STRIPE_KEY}"


def _stripe_error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response({"error": {"type": kind, "message": message}}, status=status)


def _nested(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Decode Stripe's form keys (``line_items[0][price_data][currency]``) into nested values."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node: Any = root
        for part, following in itertools.pairwise(parts):
            child: Any = [] if following.isdigit() else {}
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(child)
                node = node[index]
            else:
                node = node.setdefault(part, child)
        last = parts[-1]
        if isinstance(node, list):
            node.append(value)
        else:
            node[last] = value
    return root


@asynccontextmanager
async def fake_stripe() -> AsyncIterator[FakeStripe]:
    """Run the fake Stripe on a free loopback port."""
    fake = FakeStripe()
    sock = free_socket()
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    runner = await serve(fake.app(), host="127.0.0.1", port=0, sock=sock)
    try:
        yield fake
    finally:
        fake.release.set()
        await runner.cleanup()


def stripe_settings(fake: FakeStripe) -> StripeSettings:
    """Settings pointing the real Stripe SDK at the fake."""
    return StripeSettings(
        api_key=STRIPE_KEY,
        webhook_secret=STRIPE_WEBHOOK_SECRET,
        api_base=fake.url,
    )
