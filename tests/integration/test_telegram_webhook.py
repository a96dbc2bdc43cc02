"""Webhook mode over real HTTP on loopback: only Telegram, proving the secret token, gets in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from bot.handlers.telegram.channel import SECRET_HEADER, WEBHOOK_PATH
from bot.web import build_web_app, serve
from tests.conftest import FakeClock
from tests.payment_support import free_socket
from tests.telegram_support import Harness, message_json, telegram_shop, update_json


@dataclass
class Hooked:
    tg: Harness
    url: str


@pytest.fixture
async def hooked(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Hooked]:
    async with telegram_shop(sqlite_url, clock) as tg:
        tg.channel.webhook_url = "https://shop.example/telegram/webhook"
        sock = free_socket()
        app = build_web_app(tg.shop, extra_routes=[tg.channel.webhook_route()])
        runner = await serve(app, host="127.0.0.1", port=0, sock=sock)
        try:
            yield Hooked(tg, f"http://127.0.0.1:{sock.getsockname()[1]}{WEBHOOK_PATH}")
        finally:
            await runner.cleanup()


async def post(url: str, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers=headers) as answer,
    ):
        return answer.status


async def test_an_update_with_the_secret_token_is_handled(hooked: Hooked) -> None:
    tg = hooked.tg
    body = json.dumps(update_json(message=message_json(text="/start"))).encode()

    status = await post(hooked.url, body, tg.channel.webhook_secret.get_secret_value())

    assert status == 200
    async with asyncio.timeout(10):
        while not tg.session.of("sendMessage"):
            await tg.channel.in_order.drained()
            await asyncio.sleep(0)
    assert "Welcome" in tg.session.last("sendMessage")["text"]


@pytest.mark.parametrize("secret", [None, "", "wrong", "ключ"])
async def test_anything_without_the_secret_token_is_refused(
    hooked: Hooked, secret: str | None
) -> None:
    body = json.dumps(update_json(message=message_json(text="/start"))).encode()
    headers_secret = secret.encode("utf-8").decode("latin-1") if secret else secret

    assert await post(hooked.url, body, headers_secret) == 401
    assert hooked.tg.session.of("sendMessage") == []


async def test_a_body_that_is_not_an_update_is_refused(hooked: Hooked) -> None:
    secret = hooked.tg.channel.webhook_secret.get_secret_value()
    assert await post(hooked.url, b"{not json", secret) == 400
    assert await post(hooked.url, b'{"no": "update_id"}', secret) == 400


async def test_health_and_payment_routes_share_the_server(hooked: Hooked) -> None:
    health = hooked.url.replace(WEBHOOK_PATH, "/healthz")
    async with aiohttp.ClientSession() as http, http.get(health) as answer:
        assert answer.status == 200
        assert await answer.json() == {"ok": True}
