"""`chatshop demo` as a subprocess: a newcomer browses, buys and pays in the terminal, no token needed."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

OPTION = re.compile(r"\[(\d+)\] ([^\n]+?)(?=\s{3}\[|\n|$)")
PROMPT = "\n> "


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Terminal:
    """The demo's terminal: what it printed since the last line typed, and typing."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.screen = ""

    async def read(self) -> str:
        """Read until the demo asks for the next line."""
        assert self.process.stdout is not None
        buffer = ""
        while not buffer.endswith(PROMPT):
            chunk = await asyncio.wait_for(self.process.stdout.read(65536), timeout=120)
            if not chunk:
                raise AssertionError(f"the demo ended:\n{buffer}")
            buffer += chunk.decode()
        self.screen = buffer
        return buffer

    async def type(self, line: str) -> str:
        """Type a line and return what the demo answered."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        await self.process.stdin.drain()
        return await self.read()

    async def choose(self, label: str) -> str:
        """Type the number of the option whose label contains `label`."""
        options = {text: number for number, text in OPTION.findall(self.screen)}
        for text, number in options.items():
            if label in text:
                return await self.type(number)
        raise AssertionError(f"no option {label!r} in:\n{self.screen}")

    async def quit(self) -> None:
        """Type "quit"; the demo must end cleanly."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"quit\n")
        await self.process.stdin.drain()
        assert await asyncio.wait_for(self.process.wait(), timeout=60) == 0


async def start_demo(tmp_path: Path, **env: str) -> asyncio.subprocess.Process:
    """Start `chatshop demo` on a database of its own in `tmp_path`."""
    environ = {
        **{k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"},
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "HTTP_HOST": "127.0.0.1",
        "REDIS_URL": "",
        "LANG": "C.UTF-8",
        "USER": "newcomer",
        **env,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "demo",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environ,
        cwd=tmp_path,
    )


@asynccontextmanager
async def demo(tmp_path: Path, **env: str) -> AsyncIterator[Terminal]:
    """Run `chatshop demo` for the test's typing; it must never print a traceback."""
    process = await start_demo(tmp_path, **env)
    try:
        yield Terminal(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    assert "Traceback" not in (await process.stderr.read()).decode()


async def test_a_newcomer_buys_and_pays_in_the_terminal(tmp_path: Path) -> None:
    port = _free_port()
    # No PUBLIC_BASE_URL: links and the sandbox's webhook follow HTTP_PORT.
    async with demo(tmp_path, HTTP_PORT=str(port)) as terminal:
        screen = await terminal.read()
        assert "Hello, newcomer! Welcome to the shop." in screen
        await terminal.choose("Catalog")
        screen = await terminal.choose("Coffee & tea")
        product = next(text for _, text in OPTION.findall(screen) if "$" in text)
        title = product.split(" · ")[0]
        screen = await terminal.choose(product)
        assert title in screen
        assert "In stock:" in screen
        screen = await terminal.choose("Add to cart")
        assert "Added 1 unit to the cart." in screen
        screen = await terminal.choose("Cart (1)")
        assert "Your cart: 1 item" in screen
        screen = await terminal.choose("Checkout")
        assert "What phone number can we reach you on?" in screen
        await terminal.type("+1 555 0100 000")
        screen = await terminal.type("Ann")
        assert "How should we deliver your order?" in screen
        screen = await terminal.choose("Pickup")
        assert "Order #1: 1 item" in screen
        assert f"http://127.0.0.1:{port}/pay/" in screen
        screen = await terminal.type("pay")
        assert "Payment received, thank you! Order #1 is paid." in screen
        screen = await terminal.type("/orders")
        assert "#1 · Paid" in screen
        screen = await terminal.choose("#1")
        assert title in screen
        assert "— Paid" in screen
        await terminal.type("/catalog")
        screen = await terminal.choose("Coffee & tea")
        other = next(text for _, text in OPTION.findall(screen) if "$" in text and text != product)
        screen = await terminal.choose(other)
        assert "Best sellers" in screen  # the shelf's, as nothing was bought with this yet
        assert title[:24] in screen.split("Best sellers")[1]  # long titles are cut short
        await terminal.quit()


async def test_a_product_s_photos_page_on_its_card_and_all_of_them_are_listed(
    tmp_path: Path,
) -> None:
    async with demo(tmp_path, HTTP_PORT=str(_free_port())) as terminal:
        await terminal.read()
        screen = await terminal.type("/start p-SNY-WH1000XM5-BLK")  # four photos in the demo
        assert "[https://placehold.co/" in screen
        assert "(1/4)" in screen
        screen = await terminal.choose("›")
        assert "(2/4)" in screen
        screen = await terminal.choose("All photos (4)")
        listed = re.findall(r"^  (\d/4) (https://placehold\.co/\S+)$", screen, re.MULTILINE)
        assert screen.startswith("Sony WH-1000XM5 wireless headphones, black\n")
        assert [number for number, _ in listed] == ["1/4", "2/4", "3/4", "4/4"]
        assert len({link for _, link in listed}) == 4
        await terminal.quit()


async def test_a_line_of_five_thousand_digits_is_only_a_search(tmp_path: Path) -> None:
    async with demo(tmp_path, HTTP_PORT=str(_free_port())) as terminal:
        await terminal.read()
        screen = await terminal.type("9" * 5000)
        assert "Nothing found for «999" in screen
        screen = await terminal.type("/start")
        assert "Welcome to the shop." in screen
        await terminal.quit()


async def test_a_port_taken_by_another_program_is_named_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await start_demo(tmp_path, HTTP_PORT=str(port))
        _, stderr = await asyncio.wait_for(process.communicate(b"quit\n"), timeout=120)

    assert process.returncode == 1
    assert stderr.decode() == (
        f"error: cannot serve the payment pages: 127.0.0.1:{port} is already in use "
        "(set HTTP_PORT to a free port)\n"
    )


async def _answer_not_found(request: web.Request) -> web.Response:
    return web.Response(status=404, text="another program")


@pytest.mark.parametrize("elsewhere", ["nobody", "another program"])
async def test_a_payment_webhook_sent_elsewhere_is_named_and_the_demo_goes_on(
    tmp_path: Path, elsewhere: str
) -> None:
    other = web.Application()
    other.router.add_route("*", "/{tail:.*}", _answer_not_found)
    runner = web.AppRunner(other)
    await runner.setup()
    other_port = _free_port()
    if elsewhere == "another program":  # as when PUBLIC_BASE_URL names another shop's port
        await web.TCPSite(runner, "127.0.0.1", other_port).start()
    wrong = f"http://127.0.0.1:{other_port}"
    try:
        async with demo(tmp_path, HTTP_PORT=str(_free_port()), PUBLIC_BASE_URL=wrong) as terminal:
            await terminal.read()
            await terminal.type("/start p-STM-GC-20USD")  # digital: no delivery questions
            await terminal.choose("Buy now")
            await terminal.type("+1 555 0100 000")
            screen = await terminal.type("Ann")
            assert f"{wrong}/pay/" in screen

            screen = await terminal.type("pay")

            assert "The test payment didn't go through" in screen
            assert f"{wrong}/payments/sandbox/webhook" in screen
            assert "PUBLIC_BASE_URL" in screen
            screen = await terminal.type("/orders")
            assert "#1 · Waiting for payment" in screen
            await terminal.quit()
    finally:
        await runner.cleanup()


async def test_a_number_means_the_option_shown_and_options_answer_to_their_words(
    tmp_path: Path,
) -> None:
    async with demo(tmp_path, HTTP_PORT=str(_free_port())) as terminal:
        menu = await terminal.read()
        catalog = next(number for number, text in OPTION.findall(menu) if "Catalog" in text)
        screen = await terminal.type("99")
        assert "There is no option 99." in screen  # not a search for "99"
        assert not OPTION.findall(screen)
        screen = await terminal.type(catalog)  # still the menu's number: nothing new was shown
        assert "Choose a category" in screen
        screen = await terminal.type("menu")  # an option, by its words
        assert any("Catalog" in text for _, text in OPTION.findall(screen))
        await terminal.quit()
