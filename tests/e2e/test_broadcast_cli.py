"""`chatshop broadcast send|status|resume` as staff script them, beside the shop's own database.

Three Telegram customers and two WhatsApp ones may receive broadcasts (one of the
WhatsApp two last wrote two days ago, so only a template reaches him); one more
Telegram customer opted out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import running_shop
from bot.services import Shop
from bot.settings import Settings
from shop.audience import Segment
from shop.models import Channel
from shop.types import utcnow
from tests.broadcast_support import add_customers
from tests.cli_support import chatshop

SEGMENTS = "use all, buyers, cart, source:NAME or category:NAME"


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[Shop]:
    """The shop's database on tmp_path/shop.db with its customers, open in the test process."""
    async with running_shop(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
    ) as opened:
        await add_customers(opened, Channel.TELEGRAM, 100, 3)
        await add_customers(opened, Channel.TELEGRAM, 200, 1, consent=False)
        await add_customers(opened, Channel.WHATSAPP, 300, 1)
        await add_customers(opened, Channel.WHATSAPP, 400, 1, now=utcnow() - timedelta(days=2))
        yield opened


async def staff(tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    done = await asyncio.to_thread(chatshop, tmp_path, "broadcast", *args, env=env)
    return done.returncode, done.stdout, done.stderr


async def test_a_dry_run_counts_each_channel_and_what_whatsapp_charges_and_sends_nothing(
    tmp_path: Path, shop: Shop
) -> None:
    priced = {"TWILIO_TEMPLATES": '{"broadcast": "HX0001"}', "TWILIO_MARKETING_PRICE": "0.0250"}

    code, out, _ = await staff(tmp_path, "send", "--text", "Sale!", "--dry-run", **priced)
    assert code == 0
    assert out.splitlines() == [
        "telegram: 3 customers (free)",
        "whatsapp: 2 customers; 1 outside the 24-hour window get the template: $0.03 (0.0250 USD each)",
        "In all: 5 customers. Dry run: nothing was sent.",
    ]

    code, out, _ = await staff(
        tmp_path, "send", "--text", "Sale!", "--dry-run", "--channel", "whatsapp"
    )
    assert code == 0
    assert out.splitlines()[0] == (
        "whatsapp: 2 customers; 1 outside the 24-hour window would not get it: TWILIO_TEMPLATES"
        " names no template for broadcast (they are recorded failed)"
    )
    assert await shop.broadcasts.all() == []


async def test_send_prints_the_id_and_status_counts_its_messages(
    tmp_path: Path, shop: Shop
) -> None:
    code, out, err = await staff(
        tmp_path, "send", "--text", "Spring sale: 20% off", "--channel", "telegram"
    )
    assert code == 0, err
    broadcast_id = int(out)
    assert f"Broadcast {broadcast_id}: 3 messages: 0 sent, 0 failed, 3 pending" in err

    code, out, _ = await staff(tmp_path, "status", str(broadcast_id), "--json")
    assert code == 0
    assert json.loads(out) == {
        "id": broadcast_id,
        "text": "Spring sale: 20% off",
        "segment": "all",
        "channel": "telegram",
        "state": "sending",
        "total": 3,
        "sent": 0,
        "failed": 0,
        "pending": 3,
    }
    code, out, _ = await staff(tmp_path, "status", "--json")
    assert [b["id"] for b in json.loads(out)] == [broadcast_id]
    code, out, _ = await staff(tmp_path, "status")
    assert "Spring" in out
    assert "sending" in out


async def test_resume_finishes_queueing_a_broadcast_whose_send_was_killed(
    tmp_path: Path, shop: Shop
) -> None:
    broadcast_id = await shop.broadcasts.create("Sale!", Segment(), None)  # then killed

    code, out, _ = await staff(tmp_path, "status", str(broadcast_id), "--json")
    assert (json.loads(out)["state"], json.loads(out)["total"]) == ("preparing", 0)
    code, out, err = await staff(tmp_path, "resume", str(broadcast_id))
    assert code == 0, err
    assert out.startswith(f"Broadcast {broadcast_id}: 5 messages: 0 sent, 0 failed, 5 pending")
    code, out, _ = await staff(tmp_path, "resume", str(broadcast_id))
    assert out.startswith(f"Broadcast {broadcast_id}: 5 messages:")  # still 5: once each


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("send", "--text", "Hi", "--segment", "vip"), f"segment 'vip': {SEGMENTS}"),
        (("send", "--text", "  "), "the text is empty"),
        (("send", "--text", "Hi", "--segment", "buyers"), "no customer in segment buyers may receive broadcasts; nothing was sent"),
        (("resume", "99"), "broadcast 99 not found"),
    ],
)  # fmt: skip
async def test_bad_input_is_one_line_and_records_nothing(
    tmp_path: Path, shop: Shop, args: tuple[str, ...], reason: str
) -> None:
    code, out, err = await staff(tmp_path, *args)

    assert (code, out, err) == (1, "", f"error: {reason}\n")
    assert await shop.broadcasts.all() == []
