"""Webhook mode over real HTTP on loopback: only Telegram, proving the secret token, gets in.

An update is acknowledged (200) only once it is handled (its effect is in the
database), so one that a crash or a failure interrupts is sent again by Telegram;
its reply goes in its turn of the send budget, without holding Telegram's
connection. Every worker behind the webhook accepts the same secret token.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import Connection
from yarl import URL

from bot.handlers.telegram.channel import MAX_CONNECTIONS, SECRET_HEADER, WEBHOOK_PATH
from bot.handlers.telegram.paced import REPLY_ATTEMPTS
from bot.web import build_web_app, serve
from shop.models import Channel
from tests.conftest import FakeClock
from tests.payment_support import answer_before_the_body, free_socket, open_request, status_of
from tests.telegram_support import (
    USER_ID,
    Harness,
    message_json,
    pressing,
    telegram_shop,
    update_json,
)

WEBHOOK_URL = "https://shop.example/telegram/webhook"


@dataclass
class Hooked:
    tg: Harness
    url: str

    @property
    def secret(self) -> str:
        """The secret token Telegram was told to send."""
        return str(self.tg.session.last("setWebhook")["secret_token"])


@asynccontextmanager
async def webhook_served(tg: Harness) -> AsyncIterator[Hooked]:
    """Set the channel's webhook and serve the web app with its route on a free loopback port."""
    tg.channel.webhook_url = WEBHOOK_URL
    await tg.channel.start()
    sock = free_socket()
    app = build_web_app(tg.shop, extra_routes=[tg.channel.webhook_route()])
    runner = await serve(app, host="127.0.0.1", port=0, sock=sock)
    try:
        yield Hooked(tg, f"http://127.0.0.1:{sock.getsockname()[1]}{WEBHOOK_PATH}")
    finally:
        await runner.cleanup()


@pytest.fixture
async def hooked(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Hooked]:
    async with telegram_shop(sqlite_url, clock) as tg, webhook_served(tg) as served:
        yield served


async def post(url: str, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers=headers) as answer,
    ):
        return answer.status


async def post_holding(hooked: Hooked, update: dict[str, Any], method: str) -> tuple[bytes, int]:
    """Post `update` while the bot's next `method` call waits on the network.

    Return what Telegram had been answered by the time that call went out (nothing,
    when an update is acknowledged only once handled), and the status in the end.
    """
    held = hooked.tg.session.hold(method)
    where = URL(hooked.url)
    body = json.dumps(update).encode()
    head = (
        f"POST {where.path} HTTP/1.1\r\nHost: {where.host}\r\nContent-Length: {len(body)}\r\n"
        f"Content-Type: application/json\r\n{SECRET_HEADER}: {hooked.secret}\r\n\r\n"
    )
    loop = asyncio.get_running_loop()
    with socket.create_connection((where.host, where.port)) as sock:
        sock.setblocking(False)
        await loop.sock_sendall(sock, head.encode() + body)
        async with asyncio.timeout(10):
            await held.reached.wait()
        try:
            early = sock.recv(4096)  # whatever loopback has delivered, without waiting
        except BlockingIOError:
            early = b""
        held.release()
        async with asyncio.timeout(10):
            answer = early or await loop.sock_recv(sock, 4096)
    return early, int(answer.split()[1])


async def test_an_update_is_acknowledged_once_handled_while_its_reply_waits(
    hooked: Hooked,
) -> None:
    update = update_json(message=message_json(text="/start"))

    early, status = await post_holding(hooked, update, "sendMessage")

    assert early.startswith(b"HTTP/1.1 200")  # before the reply went out
    assert status == 200
    await hooked.tg.channel.outgoing.drained()
    assert "Welcome" in hooked.tg.session.last("sendMessage")["text"]


async def test_an_update_is_acknowledged_only_once_its_effect_is_in_the_database(
    hooked: Hooked,
) -> None:
    tg = hooked.tg
    card = await tg.say("/start p-APL-IP16P-128-BTI")
    press = update_json(callback_query=pressing(card, "add"))

    # The press is answered first, the cart changed after: hold the answer.
    early, status = await post_holding(hooked, press, "answerCallbackQuery")

    assert early == b""
    assert status == 200
    customer = await tg.shop.customers.find(Channel.TELEGRAM, str(USER_ID))
    assert customer is not None
    cart = await tg.shop.carts.view(customer.id or 0)
    assert [(line.product.sku, line.quantity) for line in cart.lines] == [("APL-IP16P-128-BTI", 1)]


async def test_an_update_whose_handling_fails_is_refused_and_handled_when_sent_again(
    hooked: Hooked,
) -> None:
    tg = hooked.tg
    # The conversations' table is out of reach, and so is the Bot API behind its proxy:
    # the handling fails, and the apology too, however often it is tried.
    await tg.shop.db.write(rename("conversation_state", "away"))
    for _ in range(REPLY_ATTEMPTS):
        tg.session.add_raw_result_for("sendMessage", "<html>502 Bad Gateway</html>")
    body = json.dumps(update_json(message=message_json(text="/start"))).encode()

    assert await post(hooked.url, body, hooked.secret) == 500
    await tg.shop.db.write(rename("away", "conversation_state"))
    assert await post(hooked.url, body, hooked.secret) == 200  # Telegram sends it again
    await tg.channel.outgoing.drained()

    assert "Welcome" in tg.session.last("sendMessage")["text"]


def rename(table: str, to: str) -> Callable[[Connection], None]:
    """Return the work of renaming a table of the shop's database."""

    def work(conn: Connection) -> None:
        conn.exec_driver_sql(f"ALTER TABLE {table} RENAME TO {to}")

    return work


async def test_an_update_over_its_size_is_refused_before_it_is_sent(hooked: Hooked) -> None:
    headers = {"Content-Type": "application/json", SECRET_HEADER: hooked.secret}
    assert await answer_before_the_body(hooked.url, headers, 1024 * 1024) == 413
    headers[SECRET_HEADER] = "wrong"
    assert await answer_before_the_body(hooked.url, headers, 1024 * 1024) == 401


async def test_updates_beyond_those_in_hand_are_told_to_retry_at_once(hooked: Hooked) -> None:
    body = json.dumps(update_json(message=message_json(text="/start"))).encode()
    headers = {
        "Content-Type": "application/json",
        SECRET_HEADER: hooked.secret,
        "Expect": "100-continue",  # answered as the server starts on the request
    }
    in_hand = []
    for _ in range(MAX_CONNECTIONS):
        reader, writer = await open_request(hooked.url, headers, len(body))
        assert await status_of(reader) == 100
        await reader.readline()  # the blank line that ends it
        in_hand.append((reader, writer))

    assert await post(hooked.url, body, hooked.secret) == 503

    for _, writer in in_hand:
        writer.write(body)
    assert [await status_of(reader) for reader, _ in in_hand] == [200] * MAX_CONNECTIONS
    for _, writer in in_hand:
        writer.close()
    assert await post(hooked.url, body, hooked.secret) == 200


async def test_workers_on_one_database_share_the_secret_token(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with (
        telegram_shop(sqlite_url, clock, payments_secret=None) as one,
        telegram_shop(sqlite_url, clock, payments_secret=None) as two,
        webhook_served(one) as first,
        webhook_served(two) as second,
    ):
        assert first.secret == second.secret
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", first.secret)  # what Telegram allows
        body = json.dumps(update_json(message=message_json(text="/start"))).encode()
        assert await post(second.url, body, first.secret) == 200
        assert await post(first.url, body, second.secret) == 200
        assert await post(first.url, body, first.secret + "x") == 401


async def test_a_configured_secret_token_is_the_one_telegram_is_given(
    sqlite_url: str, clock: FakeClock
) -> None:
    configured = "configured_Secret-42"
    async with (
        telegram_shop(sqlite_url, clock, webhook_secret=configured) as tg,
        webhook_served(tg) as served,
    ):
        assert served.secret == configured
        body = json.dumps(update_json(message=message_json(text="/start"))).encode()
        assert await post(served.url, body, configured) == 200


@pytest.mark.parametrize("secret", [None, "", "wrong", "ключ"])
async def test_anything_without_the_secret_token_is_refused(
    hooked: Hooked, secret: str | None
) -> None:
    body = json.dumps(update_json(message=message_json(text="/start"))).encode()
    headers_secret = secret.encode("utf-8").decode("latin-1") if secret else secret

    assert await post(hooked.url, body, headers_secret) == 401
    assert hooked.tg.session.of("sendMessage") == []


async def test_a_body_that_is_not_an_update_is_refused(hooked: Hooked) -> None:
    assert await post(hooked.url, b"{not json", hooked.secret) == 400
    assert await post(hooked.url, b'{"no": "update_id"}', hooked.secret) == 400
    assert await post(hooked.url, b"[" * 100_000, hooked.secret) == 400


async def test_health_and_payment_routes_share_the_server(hooked: Hooked) -> None:
    health = hooked.url.replace(WEBHOOK_PATH, "/healthz")
    async with aiohttp.ClientSession() as http, http.get(health) as answer:
        assert answer.status == 200
        assert await answer.json() == {"ok": True}
