"""Payment webhooks and pages over real HTTP on loopback, on SQLite and PostgreSQL.

Every event that proves nothing or asks for something wrong changes nothing;
the same confirmation delivered 20 times at once pays once and tells the customer once.
A request that cannot be genuine costs the server no more than its head: refused
before its body is read, in one log line, never a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest

from bot.web import WEBHOOK_SLOTS
from payments.interface import PaymentRecord
from payments.sandbox import SANDBOX
from shop.models import Channel
from shop.views import OrderView
from tests.conftest import FakeClock, our_log_lines
from tests.payment_support import (
    Heard,
    Served,
    answer_before_the_body,
    open_request,
    pending_order,
    sandbox_event,
    sandbox_headers,
    state,
    status_of,
)

WEBHOOK = "/payments/sandbox/webhook"
MEGABYTE = 1024 * 1024


async def link(served: Served, order: OrderView) -> PaymentRecord:
    start = await served.shop.payments.start(order.id, provider=SANDBOX)
    payment = await served.shop.payments.payment(start.payment_id)
    assert payment is not None
    assert payment.external_id is not None
    return payment


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    async with http.post(url, data=body, headers=headers) as response:
        return response.status, await response.text()


async def test_a_signed_confirmation_pays_the_order(
    served: Served, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    order = await pending_order(served.shop)
    payment = await link(served, order)
    heard = await Heard.start(served.shop)
    body = sandbox_event(order, payment.external_id or "", payment.id)

    status, answer = await post(http, served.url + WEBHOOK, body, sandbox_headers(body, clock))

    assert status == 200
    assert '"outcome": "paid"' in answer
    assert (await state(served.shop, order.id))["order"] == ("paid", "committed")
    assert (await heard.said()).count("paid") == 1


@pytest.mark.parametrize("forgery", ["unsigned", "wrong key", "tampered body", "stale"])
async def test_an_unproven_webhook_is_refused_and_changes_nothing(
    served: Served, http: aiohttp.ClientSession, clock: FakeClock, forgery: str
) -> None:
    order = await pending_order(served.shop)
    payment = await link(served, order)
    before = await state(served.shop, order.id)
    body = sandbox_event(order, payment.external_id or "", payment.id)
    headers = sandbox_headers(body, clock)
    if forgery == "unsigned":
        headers = {"Content-Type": "application/json"}
    elif forgery == "wrong key":
        headers = sandbox_headers(body, clock, key=b"not the shop's key")
    elif forgery == "tampered body":
        body = sandbox_event(order, payment.external_id or "", payment.id, amount=1)
    else:
        clock.advance(minutes=-10)
        headers = sandbox_headers(body, clock)
        clock.advance(minutes=10)

    status, answer = await post(http, served.url + WEBHOOK, body, headers)

    assert status == 400
    assert answer.startswith("refused:")
    assert await state(served.shop, order.id) == before
    assert (await served.shop.payments.payment(payment.id)) == payment


async def test_a_replayed_webhook_changes_nothing_more(
    served: Served, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    order = await pending_order(served.shop)
    payment = await link(served, order)
    heard = await Heard.start(served.shop)
    body = sandbox_event(order, payment.external_id or "", payment.id)
    headers = sandbox_headers(body, clock)
    assert (await post(http, served.url + WEBHOOK, body, headers))[0] == 200
    paid = await state(served.shop, order.id)

    again = await post(http, served.url + WEBHOOK, body, headers)
    clock.advance(minutes=6)
    later = await post(http, served.url + WEBHOOK, body, headers)

    assert again[0] == 200
    assert '"outcome": "duplicate"' in again[1]
    assert later[0] == 400
    assert "too old" in later[1]
    assert await state(served.shop, order.id) == paid
    assert (await heard.said()).count("paid") == 1
    assert "returned" not in await heard.said()


async def test_a_cancel_arriving_after_the_payment_changes_nothing(
    served: Served, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    order = await pending_order(served.shop)
    payment = await link(served, order)
    cancel = sandbox_event(order, payment.external_id or "", payment.id, kind="payment.cancelled")
    cancel_headers = sandbox_headers(cancel, clock)  # sent first, delivered last
    pay = sandbox_event(order, payment.external_id or "", payment.id)
    assert (await post(http, served.url + WEBHOOK, pay, sandbox_headers(pay, clock)))[0] == 200
    paid = await state(served.shop, order.id)

    status, answer = await post(http, served.url + WEBHOOK, cancel, cancel_headers)

    assert status == 200
    assert '"outcome": "ignored"' in answer
    assert await state(served.shop, order.id) == paid
    stored = await served.shop.payments.payment(payment.id)
    assert stored is not None
    assert stored.status == "succeeded"


async def test_a_webhook_for_an_unknown_order_changes_nothing(
    served: Served, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    order = await pending_order(served.shop)
    payment = await link(served, order)
    before = await state(served.shop, order.id)
    body = sandbox_event(replace(order, id=order.id + 999), "sbx_unknown", payment.id)

    status, answer = await post(http, served.url + WEBHOOK, body, sandbox_headers(body, clock))

    assert status == 200
    assert '"outcome": "unknown_order"' in answer
    assert await state(served.shop, order.id) == before
    assert await served.shop.payments.payments_for(order.id + 999) == []
    assert [p.id for p in await served.shop.payments.payments_for(order.id)] == [payment.id]


async def test_a_webhook_with_another_amount_is_refused_and_changes_nothing(
    served: Served, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    order = await pending_order(served.shop)
    payment = await link(served, order)
    heard = await Heard.start(served.shop)
    before = await state(served.shop, order.id)
    body = sandbox_event(order, payment.external_id or "", payment.id, amount=order.total - 1)

    status, answer = await post(http, served.url + WEBHOOK, body, sandbox_headers(body, clock))

    assert status == 200
    assert '"outcome": "refunded"' in answer
    assert await state(served.shop, order.id) == before
    assert "paid" not in await heard.said()
    stored = await served.shop.payments.payment(payment.id)
    assert stored is not None
    assert (stored.status, stored.reason) == ("refunded", "amount_mismatch")


async def test_twenty_deliveries_of_one_confirmation_at_once_pay_once_and_notify_once(
    served: Served, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    order = await pending_order(served.shop, stock=2, quantity=2)
    payment = await link(served, order)
    heard = await Heard.start(served.shop)
    body = sandbox_event(order, payment.external_id or "", payment.id)
    headers = sandbox_headers(body, clock)

    answers = await asyncio.gather(
        *(post(http, served.url + WEBHOOK, body, headers) for _ in range(20))
    )

    assert [status for status, _ in answers] == [200] * 20
    outcomes = sorted(answer.split('"outcome": "')[1].split('"')[0] for _, answer in answers)
    assert outcomes == ["duplicate"] * 19 + ["paid"]
    after = await state(served.shop, order.id)
    assert after["order"] == ("paid", "committed")
    assert after["stock"] == [("A", 0, 2)]
    assert after["analytics"]["paid"] == 1
    assert after["timeline"] == ["pending_payment", "paid"]
    assert (await heard.said()).count("paid") == 1
    assert "returned" not in await heard.said()


async def test_webhooks_of_providers_we_do_not_have_are_not_found(
    served: Served, http: aiohttp.ClientSession
) -> None:
    for provider in ("nope", "telegram", "stars", "stripe"):
        status, _ = await post(http, f"{served.url}/payments/{provider}/webhook", b"{}", {})
        assert status == 404


async def test_unknown_and_expired_links_show_a_clear_page(
    served: Served, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    order = await pending_order(served.shop, channel=Channel.WHATSAPP)
    start = await served.shop.payments.start(order.id)
    assert start.url is not None

    async with http.get(served.url + "/pay/" + "x" * 32) as response:
        assert response.status == 404
        page = await response.text()
        assert "Payment link not found" in page
        assert "Traceback" not in page
    async with http.get(served.url + "/pay/short") as response:
        assert response.status == 404
    clock.advance(hours=2)
    async with http.get(start.url, headers={"Accept-Language": "ru-RU,ru;q=0.9"}) as response:
        assert response.status == 410
        assert "Срок ссылки на оплату истёк" in await response.text()
    async with http.post(start.url, data={"action": "pay"}) as response:
        assert response.status == 410
    assert (await state(served.shop, order.id))["order"][0] == "pending_payment"


async def test_the_page_shows_the_order_and_its_form_pays_through_the_signed_webhook(
    served: Served, http: aiohttp.ClientSession
) -> None:
    order = await pending_order(served.shop, price=129_990, quantity=1, channel=Channel.WHATSAPP)
    start = await served.shop.payments.start(order.id)
    assert start.url is not None

    async with http.get(start.url) as response:
        page = await response.text()
    assert response.status == 200
    assert "Product A × 1" in page
    assert "$1,299.90" in page
    assert 'value="pay"' in page

    async with http.post(start.url, data={"action": "pay"}, allow_redirects=True) as response:
        after = await response.text()
    assert response.status == 200
    assert response.url.path == f"/pay/{start.url.rsplit('/', 1)[1]}"
    assert "Payment received" in after
    assert 'value="pay"' not in after
    assert (await state(served.shop, order.id))["order"] == ("paid", "committed")
    stored = await served.shop.payments.payment(start.payment_id)
    assert stored is not None
    assert stored.data.get("event", "").startswith("evt_")


def signature_now(clock: FakeClock, mac: str = "0" * 64, *, minutes: float = 0) -> str:
    """A signature header of the sandbox's form, made `minutes` ago, proving nothing."""
    return f"t={int(clock.now.timestamp() - minutes * 60)},v1={mac}"


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (None, "not signed"),
        ("stale", "too old"),
        ("t=²,v1=00", "malformed"),
        ("t=" + "9" * 5000 + ",v1=00", "malformed"),
        ("v1=00", "malformed"),
    ],
    ids=["unsigned", "stale", "superscript time", "5000-digit time", "no time"],
)
async def test_a_webhook_without_a_fresh_signature_is_refused_before_its_body_is_sent(
    served: Served, clock: FakeClock, caplog: pytest.LogCaptureFixture, header: str | None, why: str
) -> None:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Sandbox-Signature"] = (
            signature_now(clock, minutes=6) if header == "stale" else header
        )

    status = await answer_before_the_body(served.url + WEBHOOK, headers, declared=MEGABYTE)

    assert status == 400
    (line,) = our_log_lines(caplog)
    assert why in line


async def test_a_webhook_body_over_the_providers_limit_is_refused_before_it_is_sent(
    served: Served, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Content-Type": "application/json", "Sandbox-Signature": signature_now(clock)}

    status = await answer_before_the_body(served.url + WEBHOOK, headers, declared=MEGABYTE)

    assert status == 413
    assert len(our_log_lines(caplog)) == 1


async def test_a_webhook_body_sent_without_its_length_is_read_only_up_to_the_limit(
    served: Served, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    headers = {"Content-Type": "application/json", "Sandbox-Signature": signature_now(clock)}

    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to judge by
        for _ in range(10):
            yield b" " * 10_000

    async with http.post(served.url + WEBHOOK, data=chunks(), headers=headers) as response:
        assert response.status == 413


@pytest.mark.parametrize(
    "header",
    ["t=²,v1=00", "t=" + "9" * 5000 + ",v1=00", "t={now},v1=ключ", "t={now},v1=²"],
    ids=["superscript time", "5000-digit time", "cyrillic signature", "superscript signature"],
)
async def test_a_signature_python_cannot_read_is_refused_in_one_line(
    served: Served,
    http: aiohttp.ClientSession,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    header: str,
) -> None:
    order = await pending_order(served.shop)
    payment = await link(served, order)
    body = sandbox_event(order, payment.external_id or "", payment.id)
    signature = header.format(now=int(clock.now.timestamp()))
    headers = {"Content-Type": "application/json", "Sandbox-Signature": signature}

    status, answer = await post(http, served.url + WEBHOOK, body, headers)

    assert status == 400
    assert answer.startswith("refused:")
    assert len(our_log_lines(caplog)) == 1
    assert (await state(served.shop, order.id))["order"][0] == "pending_payment"


async def test_a_truncated_form_on_the_payment_page_is_refused_in_one_line(
    served: Served, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    order = await pending_order(served.shop, channel=Channel.WHATSAPP)
    start = await served.shop.payments.start(order.id)
    assert start.url is not None
    form = b'--xx\r\nContent-Disposition: form-data; name="action"\r\n\r\npay'
    headers = {"Content-Type": "multipart/form-data; boundary=xx"}

    async with http.post(start.url, data=form, headers=headers) as response:
        assert response.status == 400
    assert len(our_log_lines(caplog)) == 1
    assert (await state(served.shop, order.id))["order"][0] == "pending_payment"


async def test_webhooks_beyond_those_in_hand_are_told_to_retry_at_once(
    served: Served, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    order = await pending_order(served.shop)
    payment = await link(served, order)
    forged = b"{}"
    headers = {
        "Content-Type": "application/json",
        "Sandbox-Signature": signature_now(clock),
        "Expect": "100-continue",  # answered as the server starts on the request
    }
    in_hand = []
    for _ in range(WEBHOOK_SLOTS):
        reader, writer = await open_request(served.url + WEBHOOK, headers, len(forged))
        assert await status_of(reader) == 100
        in_hand.append((reader, writer))

    body = sandbox_event(order, payment.external_id or "", payment.id)
    async with http.post(
        served.url + WEBHOOK, data=body, headers=sandbox_headers(body, clock)
    ) as busy:
        assert busy.status == 503
        assert int(busy.headers["Retry-After"]) >= 1

    for reader, writer in in_hand:
        await reader.readline()  # the blank line after 100 Continue
        writer.write(forged)
        assert await status_of(reader) == 400
        writer.close()
    status, answer = await post(http, served.url + WEBHOOK, body, sandbox_headers(body, clock))
    assert status == 200
    assert '"outcome": "paid"' in answer
