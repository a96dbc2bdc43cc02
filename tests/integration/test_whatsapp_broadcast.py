"""A broadcast on WhatsApp: free text within the 24-hour window, beyond it the approved template or nothing.

Customers write to the shop through its webhook as Twilio delivers them; one says
"стоп" and is answered in Russian, and gets no broadcast.
"""

from __future__ import annotations

import pytest

from shop.audience import Segment
from tests.broadcast_support import queue_broadcast
from tests.conftest import FakeClock
from tests.fake_twilio import fake_twilio
from tests.whatsapp_support import whatsapp_shop

ANN, BOB, OLGA = "447700900201", "447700900202", "79990000003"
TEMPLATE = "HX00000000000000000000000broadcast"


@pytest.mark.parametrize("templates", [{"broadcast": TEMPLATE}, {}], ids=["template", "none"])
async def test_a_whatsapp_broadcast_goes_free_in_the_window_by_template_beyond_it_and_not_to_who_stopped(
    sqlite_url: str, clock: FakeClock, templates: dict[str, str]
) -> None:
    async with (
        fake_twilio() as twilio,
        whatsapp_shop(sqlite_url, clock, twilio, whatsapp={"templates": templates}) as wa,
    ):
        await wa.say("hi", number=ANN)
        clock.advance(hours=25)  # Ann has been silent since: outside the window
        await wa.say("hi", number=BOB)
        await wa.say("привет", number=OLGA)
        [stopped] = await wa.say("стоп", number=OLGA)
        assert stopped.body.startswith("Готово: больше не будем присылать вам новости")

        queued = await queue_broadcast(wa.shop, "Spring sale: 20% off", Segment())
        pushed = {message.to.removeprefix("whatsapp:+"): message for message in await wa.pushed()}

        assert pushed[BOB].content_sid is None  # within the window: free text
        assert pushed[BOB].body.startswith("Spring sale: 20% off")
        if templates:
            assert set(pushed) == {ANN, BOB}
            assert pushed[ANN].content_sid == TEMPLATE
            assert pushed[ANN].variables["1"].startswith("Spring sale: 20% off")
        else:
            assert set(pushed) == {BOB}  # Ann is recorded as not reached
        done = await wa.shop.broadcasts.status(queued.id)
        assert (done.total, done.sent, done.failed, done.pending) == (
            2,
            len(pushed),
            2 - len(pushed),
            0,
        )
