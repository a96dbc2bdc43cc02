"""`chatshop orders ...`: staff move orders along from the command line, beside a running shop."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from bot.cli.common import with_shop
from bot.wiring import Shop
from payments.interface import PaymentStatus
from shop.money import format_money

orders_app = typer.Typer(help="Orders: move them along.", no_args_is_help=True)
out = Console(highlight=False)


@orders_app.command("refund")
def refund(
    order_id: Annotated[int, typer.Argument(help="The order's number.", min=1)],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why; kept in the order's timeline.")
    ] = None,
) -> None:
    """Give a paid order's money back at its payment provider and mark the order refunded."""

    async def work(shop: Shop) -> None:
        payment = await shop.payments.settlement.refund(order_id, actor="staff:cli", note=reason)
        amount = format_money(payment.amount, payment.currency)
        if payment.status == PaymentStatus.REFUNDED:
            out.print(f"Order #{order_id} is refunded: {amount} back through {payment.provider}.")
        else:
            out.print(
                f"Order #{order_id}: the refund of {amount} is asked of {payment.provider}, which "
                "has not confirmed it yet; the running shop tries again until it does."
            )

    with_shop(work)
