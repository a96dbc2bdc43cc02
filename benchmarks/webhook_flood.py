"""A flood of unsigned 1 MB POSTs at the payment webhook: the server's memory, beside a baseline.

"chatshop" is a real `chatshop run` process (SQLite, the demo catalog, no tokens:
the web routes alone). "baseline" is the webhook as it was before the web edge
was bounded: a process building the same shop and serving
`POST /payments/{provider}/webhook` on a plain aiohttp site with one app-wide
1 MB body limit, reading the whole body and only then checking its signature.
Each server runs alone, in turn; the flood is N concurrent POSTs of 1 MB without
a signature header, every one on its own connection, from this process. Memory
is the server process's resident set from /proc: before the flood (after a few
warm-up requests), its peak during the flood (VmHWM, reset just before), and
after the last answer. Run:

    python benchmarks/webhook_flood.py [--requests 1000] [--megabytes 1]

Nothing is asserted: the figures are printed side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.app import running_shop, stock_demo
from bot.runner import freeze_startup_objects
from bot.services import Shop
from bot.settings import Settings
from payments.interface import WebhookError

WEBHOOK = "/payments/sandbox/webhook"
MEGABYTE = 1024 * 1024
HERE = Path(__file__).resolve()


@dataclass
class Measured:
    label: str
    before: int  # bytes resident
    peak: int
    after: int
    answers: Counter[str]
    seconds: float


# The baseline server ---------------------------------------------------------------------


async def serve_baseline() -> None:
    """Serve the payment webhook as it was: the whole body read (up to 1 MB), then checked."""
    settings = Settings()
    async with running_shop(settings) as shop:
        await stock_demo(shop)
        await shop.search.start()
        await _serve_as_it_was(shop, settings)


async def _serve_as_it_was(shop: Shop, settings: Settings) -> None:
    """Serve the webhook with the whole body read first, until SIGTERM."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def read_first(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            await shop.payments.settlement.handle_webhook(
                request.match_info["provider"], body, request.headers
            )
        except WebhookError as error:
            return web.Response(status=400, text=f"refused: {error}")
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=MEGABYTE)
    app.add_routes(
        [web.get("/healthz", healthz), web.post("/payments/{provider}/webhook", read_first)]
    )
    freeze_startup_objects()
    runner = web.AppRunner(app, access_log=None)  # served as bot.web served it then
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


# Measuring -------------------------------------------------------------------------------


def resident(pid: int) -> tuple[int, int]:
    """Return a process's resident set now and its peak since the last reset, in bytes."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def reset_peak(pid: int) -> None:
    """Start the process's peak resident set (VmHWM) over from now."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def healthy(url: str, process: asyncio.subprocess.Process, log: Path) -> None:
    """Wait until the server answers /healthz (it loads the demo catalog first)."""
    async with asyncio.timeout(180), aiohttp.ClientSession() as http:
        while True:
            if process.returncode is not None:
                raise SystemExit(f"the server exited:\n{await asyncio.to_thread(log.read_text)}")
            try:
                async with http.get(url + "/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)


async def flood(url: str, requests: int, size: int) -> tuple[Counter[str], float]:
    """POST `requests` unsigned bodies of `size` bytes at once; return the answers and the time."""
    payload = b"{" + b" " * (size - 2) + b"}"
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=0, force_close=True)  # a connection each
    timeout = aiohttp.ClientTimeout(total=600)

    async def one(http: aiohttp.ClientSession) -> str:
        try:
            async with http.post(url + WEBHOOK, data=payload, headers=headers) as answer:
                await answer.read()
                return str(answer.status)
        except (aiohttp.ClientError, OSError) as error:
            return type(error).__name__

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        started = time.perf_counter()
        answers = Counter(await asyncio.gather(*(one(http) for _ in range(requests))))
        return answers, time.perf_counter() - started


async def measure(
    name: str, label: str, command: Sequence[str], tmp: Path, args: argparse.Namespace
) -> Measured:
    """Start a server, flood it, and read its memory before, during and after."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "TWILIO_", "STRIPE_", "REDIS"))
    }
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp / f'{name}.db'}",
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
        PUBLIC_BASE_URL=url,
        PAYMENTS_SECRET="benchmark-payments-secret",
    )
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=out, stderr=out, env=env, cwd=tmp
        )
    try:
        await healthy(url, process, log)
        await flood(url, 10, 1024)  # warm the route up: its first answers allocate for good
        before, _ = resident(process.pid)
        reset_peak(process.pid)
        answers, seconds = await flood(url, args.requests, int(args.megabytes * MEGABYTE))
        after, peak = resident(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
    return Measured(label, before, peak, after, answers, seconds)


async def run(args: argparse.Namespace) -> list[Measured]:
    with tempfile.TemporaryDirectory() as tmp:
        baseline = [sys.executable, str(HERE), "--serve-baseline"]
        chatshop = [sys.executable, "-m", "bot", "run"]
        return [
            await measure("baseline", "baseline: whole body read first", baseline, Path(tmp), args),
            await measure("chatshop", "chatshop run", chatshop, Path(tmp), args),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000, help="POSTs sent at once")
    parser.add_argument("--megabytes", type=float, default=1, help="the size of each body")
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        asyncio.run(serve_baseline())
        return
    results = asyncio.run(run(args))

    def mb(size: int) -> str:
        return f"{size / MEGABYTE:,.0f} MB"

    print(
        f"{args.requests:,} concurrent unsigned POSTs of {args.megabytes} MB to {WEBHOOK}, "
        "each server process alone (SQLite, demo catalog)"
    )
    print(f"{'server':<34}{'RSS before':>12}{'peak':>12}{'after':>12}{'seconds':>10}   answers")
    for m in results:
        answers = ", ".join(f"{status} ×{count:,}" for status, count in m.answers.most_common())
        print(
            f"{m.label:<34}{mb(m.before):>12}{mb(m.peak):>12}{mb(m.after):>12}"
            f"{m.seconds:>10.1f}   {answers}"
        )


if __name__ == "__main__":
    main()
