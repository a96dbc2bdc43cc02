"""A process stopped at each point between the steps of settling and refunding, then started again.

Settling a payment is one transaction. Giving money back is three steps: the
payment is marked REFUNDING, the provider refunds, the refund is recorded (with
the order, for a refund staff asked for). The process is stopped between them:
a provider that "kills" it raises a BaseException nothing in the shop catches,
before or after it has refunded. A new shop on the same database then recovers:
every refund happens exactly once, nothing stays half-done, and the customer is
told once. Payments an earlier version left `captured` are settled the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Connection

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from payments.interface import (
    Outcome,
    PaymentRecord,
    PaymentStatus,
    RefundDelayedError,
)
from payments.sandbox import SANDBOX, SandboxProvider
from shop import tables as t
from shop.migrate import upgrade
from shop.models import OrderStatus
from shop.views import OrderView
from tests.conftest import FakeClock
from tests.payment_support import PAYMENTS_SECRET, Heard, paid_event, pending_order, state


class ProcessKilledError(BaseException):
    """The process died here: nothing in the shop catches a BaseException."""


@dataclass
class Ledger:
    """The provider's own books, which outlive our process: what it refunded, once per payment."""

    refunds: dict[int, str] = field(default_factory=dict)
    asked: int = 0


class DyingSandbox(SandboxProvider):
    """The sandbox provider, refunding into a ledger, and killing the process when told to."""

    def __init__(self, real: SandboxProvider, ledger: Ledger, die: str | None = None) -> None:
        self.__dict__.update(real.__dict__)
        self.ledger = ledger
        self.die = die  # "before" or "after" the refund reaches the provider's books
        self.delays = 0  # how many more refunds to answer "try again later"

    async def refund(self, payment: PaymentRecord) -> str:
        self.ledger.asked += 1
        if self.die == "before":
            raise ProcessKilledError
        if self.delays:
            self.delays -= 1
            raise RefundDelayedError("the provider is down")
        refund_id = self.ledger.refunds.setdefault(payment.id, f"re_{payment.id}")
        if self.die == "after":
            raise ProcessKilledError
        return refund_id


@dataclass
class Run:
    """One process of the shop: its services, what it told listeners, its provider."""

    shop: Shop
    heard: Heard
    provider: DyingSandbox


@dataclass
class World:
    url: str
    clock: FakeClock
    ledger: Ledger = field(default_factory=Ledger)
    runs: list[Shop] = field(default_factory=list)

    async def start(self, die: str | None = None) -> Run:
        """Start a process of the shop on the database."""
        shop = build_shop(
            Settings(database_url=self.url, payments_secret=PAYMENTS_SECRET), clock=self.clock
        )
        await upgrade(shop.db)
        self.runs.append(shop)
        real = shop.payments.providers[SANDBOX]
        assert isinstance(real, SandboxProvider)
        provider = DyingSandbox(real, self.ledger, die)
        shop.payments.providers[SANDBOX] = provider  # the provider's side of the wire
        return Run(shop, await Heard.start(shop), provider)


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[World]:
    made = World(database_url, clock)
    yield made
    for shop in made.runs:
        await shop.db.dispose()


async def _link(shop: Shop, order: OrderView) -> PaymentRecord:
    start = await shop.payments.start(order.id, provider=SANDBOX)
    payment = await shop.payments.payment(start.payment_id)
    assert payment is not None
    return payment


async def _restart_after_the_grace(world: World) -> Run:
    world.clock.advance(minutes=1)  # past the grace a refund in flight gets
    run = await world.start()
    await run.shop.payments.settlement.recover()
    return run


@pytest.mark.parametrize("die", ["before", "after"])
async def test_money_not_kept_is_refunded_once_whenever_the_process_dies(
    world: World, die: str
) -> None:
    first = await world.start(die=die)
    order = await pending_order(first.shop)
    payment = await _link(first.shop, order)
    before = await state(first.shop, order.id)

    with pytest.raises(ProcessKilledError):
        await first.shop.payments.settlement.confirm(
            paid_event(order, payment.external_id or "", payment.id, amount=1)
        )
    stuck = await first.shop.payments.payment(payment.id)
    assert stuck is not None
    assert stuck.status == PaymentStatus.REFUNDING  # the money is marked to go back, not lost

    second = await _restart_after_the_grace(world)

    done = await second.shop.payments.payment(payment.id)
    assert done is not None
    assert (done.status, done.reason) == ("refunded", "amount_mismatch")
    assert list(world.ledger.refunds.values()) == [done.refund_id]  # refunded once
    assert await state(second.shop, order.id) == before  # the order still waits for payment
    assert await second.heard.said() == ["returned"]  # told once
    await second.shop.payments.settlement.recover()
    assert world.ledger.asked == 2  # nothing more to do


@pytest.mark.parametrize("die", ["before", "after"])
async def test_a_refund_staff_asked_for_finishes_once_whenever_the_process_dies(
    world: World, die: str
) -> None:
    first = await world.start()
    order = await pending_order(first.shop, stock=5, quantity=2)
    payment = await _link(first.shop, order)
    await first.shop.payments.settlement.confirm(
        paid_event(order, payment.external_id or "", payment.id)
    )
    first.provider.die = die

    with pytest.raises(ProcessKilledError):
        await first.shop.payments.settlement.refund(order.id, actor="staff:ann", note="broken")
    assert (await state(first.shop, order.id))["order"][0] == "paid"  # not refunded on a promise

    second = await _restart_after_the_grace(world)

    after = await state(second.shop, order.id)
    assert after["order"][0] == OrderStatus.REFUNDED
    assert after["stock"] == [("A", 5, 0)]  # restocked once
    assert after["timeline"] == ["pending_payment", "paid", "refunded"]
    done = await second.shop.payments.payment(payment.id)
    assert done is not None
    assert (done.status, done.refund_id) == ("refunded", f"re_{payment.id}")
    assert len(world.ledger.refunds) == 1
    assert await second.heard.said() == ["refunded"]
    details = await second.shop.orders.get(order.id)
    assert (details.events[-1].actor, details.events[-1].note) == ("staff:ann", "broken")


async def test_a_second_staff_refund_is_refused_while_the_first_is_under_way(world: World) -> None:
    first = await world.start()
    order = await pending_order(first.shop)
    payment = await _link(first.shop, order)
    await first.shop.payments.settlement.confirm(
        paid_event(order, payment.external_id or "", payment.id)
    )
    first.provider.delays = 1

    pending = await first.shop.payments.settlement.refund(order.id)

    assert (pending.status, pending.attempts) == ("refunding", 1)
    with pytest.raises(Exception, match="under way"):
        await first.shop.payments.settlement.refund(order.id)
    world.clock.advance(minutes=1)
    await first.shop.payments.settlement.recover()
    assert (await state(first.shop, order.id))["order"][0] == "refunded"
    with pytest.raises(Exception, match="already refunded"):
        await first.shop.payments.settlement.refund(order.id)


async def test_a_refund_the_provider_does_not_confirm_is_retried_with_backoff_then_left_to_staff(
    world: World,
) -> None:
    run = await world.start()
    order = await pending_order(run.shop)
    payment = await _link(run.shop, order)
    run.provider.delays = 1_000  # down for good

    result = await run.shop.payments.settlement.confirm(
        paid_event(order, payment.external_id or "", payment.id, amount=1)
    )

    assert result.outcome is Outcome.REFUND_PENDING
    waits = []
    while True:
        stored = await run.shop.payments.payment(payment.id)
        assert stored is not None
        if stored.status != PaymentStatus.REFUNDING:
            break
        assert stored.retry_at is not None
        waits.append(stored.retry_at - world.clock.now)
        world.clock.now = stored.retry_at
        await run.shop.payments.settlement.recover()
    assert waits[:4] == [timedelta(seconds=s) for s in (15, 30, 60, 120)]
    assert max(waits) == timedelta(hours=1)
    assert timedelta(hours=20) < sum(waits, timedelta()) < timedelta(hours=30)
    assert stored.status == PaymentStatus.REFUND_FAILED
    assert stored.note is not None
    assert "did not confirm" in stored.note
    assert await run.heard.said() == ["staff:refund_failed", "not kept"]


def _left_captured(
    payment: PaymentRecord, order: OrderView, *, claim: bool = True
) -> Callable[[Connection], None]:
    """The state a crash of an earlier version left: the money taken, the payment `captured`."""

    def work(conn: Connection) -> None:
        conn.execute(
            update(t.payment)
            .where(t.payment.c.id == payment.id)
            .values(
                status=PaymentStatus.CAPTURED,
                external_id="sbx_old",
                claim_order_id=order.id if claim else None,
            )
        )

    return work


async def test_a_payment_an_earlier_version_left_captured_pays_its_order(world: World) -> None:
    run = await world.start()
    order = await pending_order(run.shop)
    payment = await _link(run.shop, order)
    await run.shop.db.write(_left_captured(payment, order))

    await run.shop.payments.settlement.recover()

    assert (await state(run.shop, order.id))["order"] == ("paid", "committed")
    done = await run.shop.payments.payment(payment.id)
    assert done is not None
    assert done.status == PaymentStatus.SUCCEEDED
    assert await run.heard.said() == ["paid", "staff:paid"]


async def test_a_payment_left_captured_for_a_paid_order_succeeds_without_paying_twice(
    world: World,
) -> None:
    run = await world.start()
    order = await pending_order(run.shop)
    payment = await _link(run.shop, order)
    await run.shop.orders.confirm_payment(order.id)  # the order got paid before the crash
    paid = await state(run.shop, order.id)
    await run.shop.db.write(_left_captured(payment, order))
    heard = await Heard.start(run.shop)

    await run.shop.payments.settlement.recover()

    assert await state(run.shop, order.id) == paid
    done = await run.shop.payments.payment(payment.id)
    assert done is not None
    assert done.status == PaymentStatus.SUCCEEDED
    assert await heard.said() == []  # told when it got paid, not again
    # And staff can refund it like any paid order.
    refunded = await run.shop.payments.settlement.refund(order.id)
    assert refunded.status == PaymentStatus.REFUNDED


async def test_a_payment_left_captured_for_an_order_that_can_no_longer_be_paid_is_refunded(
    world: World,
) -> None:
    run = await world.start()
    order = await pending_order(run.shop, stock=2, quantity=2)
    payment = await _link(run.shop, order)
    await run.shop.orders.transition(order.id, OrderStatus.CANCELLED, actor="customer")
    await run.shop.db.write(_left_captured(payment, order, claim=False))

    await run.shop.payments.settlement.recover()

    done = await run.shop.payments.payment(payment.id)
    assert done is not None
    assert (done.status, done.reason) == ("refunded", "cannot_fulfil")
    assert (await state(run.shop, order.id))["order"] == ("cancelled", "released")
    assert list(world.ledger.refunds) == [payment.id]
