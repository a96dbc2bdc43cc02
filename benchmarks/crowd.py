"""A crowd of customers at once: how long each waits for the bot's first reply, within Telegram's limits.

Each simulated customer does what a shopper does: /start, a search with a typo, opens
a product from the results, adds it to the cart and opens the cart, one second after
each reply. Their updates reach a `chatshop run` process (the demo catalog on SQLite,
long polling) through a fake Bot API on loopback in this process, which answers 429
with `retry_after` as Telegram does past 30 messages a second in all or 1 a second to
one chat (sends and edits alike).

Three rows per crowd size:

- "no limits (baseline)": the fake refuses nothing and the bot may send 1,000 a second:
  what the bot itself costs, measured in the same run;
- "Telegram's limits": the fake's flood control on, the bot at its defaults;
- "limits + broadcast": the same while a broadcast to 5,000 other customers is being
  sent by the same process, which must give way to every reply.

Per row: first-reply latency (p50, p95, p99, max) over every action, actions that got
no reply within two minutes, the 429s the bot was answered, the apologies ("Sorry,
something went wrong"), and for the broadcast its messages sent meanwhile. Beside
them, what the limits allow: N customers who each wait 1 s after a reply send N·m/(1
+ W) messages a second (m messages an action), which at most C = 30 a second go, so
the mean wait is at least W = N·m/C − 1 once the crowd is past C (Little's law);
and the first burst, N /starts at once, takes N/C seconds to answer.

    python benchmarks/crowd.py [--crowds 50,100,200,400] [--broadcast 5000]

Every customer starts at once (a rush after a post or a sale's start), so each of
the five steps comes as one burst. "bcast" counts the broadcast messages sent while
the crowd shopped (only when no reply was waiting), "ahead" those sent while a
customer had waited over 0.3 s for a reply: none should be. A run on a 2-core machine
(the shop, the fake Bot API and the crowd on those two cores):

                               crowd    p50    p95    p99    max   mean no reply  429s sorry  bcast ahead   allow: W  burst
    no limits (baseline)          50   0.06   0.12   0.12   0.13   0.06        0     0     0
    Telegram's limits             50   0.87   1.23   1.41   1.44   0.70        0     0     0                    0.67   1.67
    limits + broadcast 5,000      50   0.71   1.28   1.62   1.69   0.74        0     0     0      1     0       0.67   1.67
    no limits (baseline)         100   0.09   0.25   0.27   0.27   0.10        0     0     0
    Telegram's limits            100   2.25   2.76   3.32   3.38   2.26        0     0     0                    2.33   3.33
    limits + broadcast 5,000     100   2.42   2.59   3.34   3.41   2.28        0     0     0      1     0       2.33   3.33
    no limits (baseline)         200   0.22   0.43   0.46   0.47   0.21        0     0     0
    Telegram's limits            200   6.00   6.01   6.64   7.82   5.37        0     1     0                    5.67   6.67
    limits + broadcast 5,000     200   5.86   6.01   6.67   6.83   5.38        0     0     0      9     0       5.67   6.67
    no limits (baseline)         400   0.39   0.95   1.03   1.05   0.41        0     0     0
    Telegram's limits            400  12.51  13.01  13.30  26.40  11.58        0     2     0                   12.33  13.33
    limits + broadcast 5,000     400  12.51  13.05  13.27  26.52  11.58        0     1     0     10     0      12.33  13.33
    seconds; 1.00 messages an action
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bot.app import running_shop, stock_demo
from bot.handlers.telegram.errors import TRY_AGAIN
from bot.settings import Settings
from shop.models import Channel
from tests.broadcast_support import add_customers, queue_broadcast
from tests.crowd_support import THINK, Crowd
from tests.fake_telegram import fake_bot_api
from tests.payment_support import free_socket
from tests.telegram_e2e_support import Running

LIMIT = 30  # Telegram's messages a second, all chats together
BASELINE = "no limits (baseline)"
SLACK = 0.3  # a customer waiting longer than this waits for the budget
FIRST_CUSTOMER = 1_000_000
FIRST_RECIPIENT = 5_000_000


@dataclass
class Row:
    """What one crowd saw."""

    label: str
    crowd: int
    waits: list[float]
    unanswered: int
    flooded: int
    apologies: int
    messages: int  # to the crowd
    broadcast: int | None  # broadcast messages sent while the crowd shopped
    overtaking: int | None  # of those, sent while a customer had waited over SLACK

    def centile(self, share: float) -> float:
        """Return the latency under which `share` of the answered actions got their reply."""
        ordered = sorted(self.waits)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


async def template(folder: Path, recipients: int) -> Path:
    """Make a shop database with the demo catalog, and a broadcast queued for `recipients`."""
    path = folder / f"template-{recipients}.db"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{path}")
    async with running_shop(settings) as shop:
        await stock_demo(shop, wanted=True)
        if recipients:
            await add_customers(shop, Channel.TELEGRAM, FIRST_RECIPIENT, recipients)
            queued = await queue_broadcast(shop, "Spring sale: 20% off all headphones")
            assert queued.total == recipients
    return path


async def one_row(
    label: str, size: int, first: int, db: Path, *, limits: bool, broadcast: bool
) -> Row:
    """Start a shop on a copy of `db`, let `size` customers shop, and say what they saw."""
    folder = Path(tempfile.mkdtemp(prefix="chatshop-crowd-"))
    shutil.copy(db, folder / "shop.db")
    async with fake_bot_api() as api:
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        settings = {"TELEGRAM_SEND_RATE": "1000", "TELEGRAM_CHAT_RATE": "1000"}
        if limits:
            api.flood_control(overall=LIMIT, per_chat=1)
            settings = {"TELEGRAM_SEND_RATE": str(LIMIT), "TELEGRAM_CHAT_RATE": "1"}
        shop = Running(api, folder, port, settings=settings)
        await shop.start()
        try:
            if broadcast:  # under way at full speed before the crowd comes
                await api.wait_for(
                    lambda c: c.method == "sendMessage" and c.result is not None, timeout=60
                )
                await asyncio.sleep(2)  # a moment of the broadcast alone
            crowd = Crowd(api, first, size)
            flooded, started = api.flooded, len(api.calls)
            await crowd.shop()
            meanwhile = [
                c.at
                for c in api.calls[started:]
                if c.method == "sendMessage" and c.result and int(c["chat_id"]) >= FIRST_RECIPIENT
            ]
            told = crowd.told()
            return Row(
                label,
                size,
                crowd.waits,
                crowd.unanswered,
                api.flooded - flooded,
                sum(1 for c in told if TRY_AGAIN in c.words),
                len(told),
                len(meanwhile) if broadcast else None,
                crowd.overtaken(meanwhile, SLACK) if broadcast else None,
            )
        finally:
            await shop.stop()
            shutil.rmtree(folder, ignore_errors=True)


def show(rows: list[Row]) -> None:
    """Print the table, with what the limits allow beside each limited row."""
    print()
    print(
        f"{'':<26}{'crowd':>6}{'p50':>7}{'p95':>7}{'p99':>7}{'max':>7}{'mean':>7}"
        f"{'no reply':>9}{'429s':>6}{'sorry':>6}{'bcast':>7}{'ahead':>6}"
        f"   {'allow: W':>8}{'burst':>7}"
    )
    for row in rows:
        actions = len(row.waits) + row.unanswered
        per_action = row.messages / actions if actions else 0.0
        allow = ""
        if row.label != BASELINE:
            steady = max(0.0, row.crowd * per_action / LIMIT - THINK)
            allow = f"{steady:>8.2f}{row.crowd / LIMIT:>7.2f}"
        print(
            f"{row.label:<26}{row.crowd:>6}{row.centile(0.50):>7.2f}{row.centile(0.95):>7.2f}"
            f"{row.centile(0.99):>7.2f}{max(row.waits, default=0.0):>7.2f}"
            f"{statistics.fmean(row.waits) if row.waits else 0.0:>7.2f}{row.unanswered:>9}"
            f"{row.flooded:>6}{row.apologies:>6}"
            f"{'' if row.broadcast is None else row.broadcast:>7}"
            f"{'' if row.overtaking is None else row.overtaking:>6}   {allow}"
        )
    print(f"seconds; {rows[0].messages / max(1, len(rows[0].waits)):.2f} messages an action")


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="chatshop-crowd-templates-"))
    try:
        plain = await template(folder, 0)
        with_broadcast = await template(folder, args.broadcast)
        rows = []
        first = FIRST_CUSTOMER
        for size in args.crowds:
            for label, limits, broadcast in (
                (BASELINE, False, False),
                ("Telegram's limits", True, False),
                (f"limits + broadcast {args.broadcast:,}", True, True),
            ):
                db = with_broadcast if broadcast else plain
                row = await one_row(label, size, first, db, limits=limits, broadcast=broadcast)
                first += size
                rows.append(row)
                print(f"{label}, {size} customers: p95 {row.centile(0.95):.2f} s", flush=True)
        show(rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--crowds",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[50, 100, 200, 400],
        help="crowd sizes, comma-separated",
    )
    parser.add_argument("--broadcast", type=int, default=5000, help="broadcast recipients")
    os.environ.pop("REDIS_URL", None)
    asyncio.run(main(parser.parse_args()))
