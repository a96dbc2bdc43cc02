"""The sandbox checkout page in a real headless browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from shop.models import Channel
from tests.conftest import FakeClock
from tests.payment_support import Served, pending_order, served_shop, state

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _need_chromium() -> None:
    """Skip where chromium is absent, except in CI, where the browser test must run."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: install Debian's chromium")
        pytest.skip("Debian's chromium is not installed")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    _need_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def served(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Served]:
    async with served_shop(sqlite_url, clock) as running:
        yield running


async def test_pressing_pay_on_the_sandbox_page_pays_the_order(
    browser: Browser, served: Served
) -> None:
    order = await pending_order(served.shop, price=129_990, quantity=1, channel=Channel.WHATSAPP)
    start = await served.shop.payments.start(order.id)
    assert start.url is not None
    page = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone

    await page.goto(start.url)
    assert await page.inner_text("h1") == f"Order #{order.id}"
    assert "$1,299.90" in await page.inner_text("table")
    await page.get_by_role("button", name="Pay $1,299.90").click()
    await page.wait_for_selector("text=Payment received")

    assert (await state(served.shop, order.id))["order"] == ("paid", "committed")
    assert await page.get_by_role("button", name="Pay $1,299.90").count() == 0


async def test_pressing_cancel_cancels_the_order_and_its_goods_are_back_on_sale(
    browser: Browser, served: Served
) -> None:
    order = await pending_order(served.shop, channel=Channel.WHATSAPP)
    start = await served.shop.payments.start(order.id)
    assert start.url is not None
    page = await browser.new_page(locale="ru-RU", extra_http_headers={"Accept-Language": "ru"})

    await page.goto(start.url)
    await page.get_by_role("button", name="Отменить").click()
    await page.wait_for_selector("text=Оплата отменена, а с ней и заказ")

    after = await state(served.shop, order.id)
    assert after["order"] == ("cancelled", "released")
    assert after["stock"] == [("A", 5, 0)]  # at once, not when the hold runs out
    payment = await served.shop.payments.payment(start.payment_id)
    assert payment is not None
    assert payment.status == "cancelled"
    await page.goto(start.url)  # coming back, there is nothing left to press
    assert await page.get_by_role("button").count() == 0
