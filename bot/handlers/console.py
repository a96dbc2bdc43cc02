"""The terminal channel: `chatshop demo` runs the very flows Telegram runs, in a terminal.

Buttons become numbered options: the customer types a number to press one, or
types text (a search, an answer to a checkout question), or a /command. A
payment link is printed; typing "pay" pays it through the sandbox checkout's
own signed webhook, exactly as the Pay button on the payment page does.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import TextIO

from bot.app import conversations_for, running_shop, stock_demo
from bot.delivery import DeliveryWorker
from bot.flows.context import Capabilities
from bot.flows.engine import Conversations, StaffQuestion, Who
from bot.flows.options import is_label, is_option
from bot.flows.types import (
    Album,
    Command,
    ContactRequest,
    Image,
    Keyboard,
    PaymentRequest,
    Reply,
    Text,
    typed,
)
from bot.settings import Settings
from bot.web import build_web_app, serve
from payments.hosted import LinkExpiredError, LinkNotFoundError
from payments.interface import PaymentError
from payments.sandbox import SANDBOX
from shop.i18n import Language
from shop.models import Channel
from shop.outbox import Outbound

PROMPT = "> "
QUIT = ("quit", "exit", "q")
PAY = "pay"

ReadLine = Callable[[], Awaitable[str]]
Pay = Callable[[str], Awaitable[None]]

# Words only: options by number, no inline search, no invoices, no phone number button.
CONSOLE = Capabilities(numbered_options=True)


class ConsoleChannel:
    """Prints replies with numbered buttons and turns typed lines into events."""

    def __init__(self, out: TextIO, language: Language) -> None:
        self._out = out
        self.language = language
        self._number: int | None = None  # the last option numbered while printing
        self.sandbox_token: str | None = None  # the payment link shown last, if a sandbox one

    def show(self, replies: list[Reply]) -> None:
        """Print a conversation's replies, their options numbered from 1 as the flows number them."""
        self._print(replies, numbered=True)

    @property
    def reports(self) -> bool:
        """The terminal tells nothing of a line once printed."""
        return False

    async def send(self, _message: Outbound, replies: list[Reply]) -> list[str]:
        """Print what the shop says unasked (a paid order): the delivery worker's deliverer here.

        Its buttons are not numbered: the numbers keep meaning what the conversation showed.
        """
        self._print(replies, numbered=False)
        return []  # printed lines have no ids to answer to

    def prompt(self) -> None:
        """Ask for the next line."""
        self._out.write(PROMPT)
        self._out.flush()

    def say(self, text: str) -> None:
        """Print a line of the terminal's own."""
        self._out.write(text + "\n")
        self._out.flush()

    def _print(self, replies: list[Reply], *, numbered: bool) -> None:
        self._number = 0 if numbered else None
        for reply in replies:
            self._out.write(self._render(reply) + "\n")
        self._out.flush()

    def _render(self, reply: Reply) -> str:
        """Return one reply as terminal text."""
        _ = self.language._
        if isinstance(reply, Text):
            return reply.text + self._buttons(reply.buttons)
        if isinstance(reply, Image):
            return f"[{reply.url}]\n{reply.caption}" + self._buttons(reply.buttons)
        if isinstance(reply, Album):  # a terminal shows no pictures: their links, to open
            count = len(reply.urls)
            links = [f"  {n}/{count} {url}" for n, url in enumerate(reply.urls, start=1)]
            return "\n".join([reply.caption, *links])
        if isinstance(reply, ContactRequest):  # not asked of a channel without the button
            return reply.text
        assert isinstance(reply, PaymentRequest)
        start = reply.start
        lines = [reply.text]
        if start.url:
            lines.append(f"{reply.button_label}: {start.url}")
        if start.provider == SANDBOX and start.url:
            self.sandbox_token = start.url.rstrip("/").rsplit("/", 1)[-1]
            lines.append(_("Type “pay” to pay it here (a test payment: no money moves)."))
        return "\n".join(lines)

    def _buttons(self, rows: Keyboard) -> str:
        """Return a reply's options, one line per row: numbered in a conversation's replies."""
        lines = []
        for row in rows:
            shown = []
            for button in row:
                if is_label(button):  # a quantity, a page counter: in brackets, apart from numbers
                    shown.append(f"({button.label})")
                if not is_option(button):
                    continue
                if self._number is None:
                    shown.append(f"[{button.label}]")
                else:
                    self._number += 1
                    shown.append(f"[{self._number}] {button.label}")
            if shown:
                lines.append("  " + "   ".join(shown))
        return "\n" + "\n".join(lines) if lines else ""


class ConsoleStaffDesk:
    """The demo's help desk: shows where the question would go."""

    def __init__(self, channel: ConsoleChannel) -> None:
        self._channel = channel

    async def forward(self, question: StaffQuestion) -> None:
        """Print the question as the shop's team would receive it."""
        self._channel.say(f"(to the shop's team) {question.name or '—'}: {question.text}")


async def converse(
    conversations: Conversations,
    channel: ConsoleChannel,
    who: Who,
    read_line: ReadLine,
    pay: Pay,
) -> None:
    """Talk until the customer quits or input ends."""
    channel.show(await conversations.handle(who, Command("start")))
    while True:
        channel.prompt()
        raw = await read_line()
        if not raw:
            channel.say("")
            return
        line = raw.strip()
        if line.lower() in QUIT:
            return
        if not line:
            continue
        if line.lower() == PAY and channel.sandbox_token:
            await _pay(channel, pay)
            continue
        channel.show(await conversations.handle(who, typed(line)))
        channel.language = Language(await conversations.locale_of(who))


async def _pay(channel: ConsoleChannel, pay: Pay) -> None:
    """Pay the last sandbox link; the shop's answer arrives as a pushed message."""
    token = channel.sandbox_token
    assert token is not None
    _ = channel.language._
    try:
        await pay(token)
    except (LinkNotFoundError, LinkExpiredError):
        channel.say(_("That payment link can't be paid any more."))
    except PaymentError as error:  # the webhook went astray: the link stands, "pay" may retry
        channel.say(
            _(
                "The test payment didn't go through: {reason}. Check that PUBLIC_BASE_URL "
                "leads to this demo's web server, then type “pay” again."
            ).format(reason=error)
        )
        return
    channel.sandbox_token = None


async def run_demo(settings: Settings, out: TextIO, read_line: ReadLine | None = None) -> None:
    """Run the terminal demo on the demo catalog, with the web server for the payment pages.

    Lines come from `read_line`, standard input by default.
    """
    async with running_shop(settings) as shop:
        await stock_demo(shop, wanted=True)
        await shop.search.start()
        site = await serve(build_web_app(shop), host=settings.http_host, port=settings.http_port)
        try:
            who = Who(
                Channel.CONSOLE,
                "console",
                display_name=os.environ.get("USER", ""),
                language_code=os.environ.get("LANG"),
                can=CONSOLE,
            )
            channel = ConsoleChannel(out, Language(settings.default_locale))
            conversations = conversations_for(shop, staff=ConsoleStaffDesk(channel))
            try:
                await _welcome(conversations, channel, who)
                worker = DeliveryWorker(shop, conversations, {Channel.CONSOLE: channel})

                async def pay(token: str) -> None:
                    await shop.payments.pages.sandbox_act(token, PAY)
                    await worker.drain()  # what the payment changed is said before the next prompt
                    await shop.together.fold()  # no background jobs here: the next card knows it

                await converse(conversations, channel, who, read_line or stdin_lines(), pay)
            finally:
                await conversations.close()
        finally:
            await site.cleanup()


async def _welcome(conversations: Conversations, channel: ConsoleChannel, who: Who) -> None:
    """Speak the customer's language and say how the terminal works."""
    channel.language = Language(await conversations.locale_of(who))
    _ = channel.language._
    channel.say(
        _(
            "chatshop demo: type a number to press a button, or text to search and answer; "
            "“quit” leaves."
        )
    )


def stdin_lines() -> ReadLine:
    """Return a reader of standard input lines ("" at the end) that never blocks the event loop.

    A daemon thread reads, so Ctrl-C ends the demo at once instead of waiting for Enter.
    """
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def pump() -> None:
        while True:
            line = sys.stdin.readline()
            loop.call_soon_threadsafe(lines.put_nowait, line)
            if not line:
                return

    threading.Thread(target=pump, name="stdin", daemon=True).start()
    return lines.get
