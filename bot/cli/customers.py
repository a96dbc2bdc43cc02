"""`chatshop customers ...`: who the shop's customers are, for the owner's own records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import err, shown, with_shop, write_out
from bot.services import Shop
from shop.customer_file import write_customers
from shop.views import PersonView

customers_app = typer.Typer(help="Customers: export them.", no_args_is_help=True)


@customers_app.command("export")
def export(
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Where to write the .csv [default: stdout]."),
    ] = None,
) -> None:
    """Write every customer as CSV: name, language, marketing consent, first source, contact, addresses.

    One row per person: someone on Telegram and WhatsApp with one proved number is one
    row, with each channel's address. A spreadsheet opens it as plain data: no cell runs
    as a formula.
    """

    async def work(shop: Shop) -> list[PersonView]:
        return await shop.customers.all_people()

    customers = with_shop(work)
    write_out(write_customers(customers), output)
    if output is None:
        return
    count = len(customers)
    err.print(f"Exported {count} customer{'' if count == 1 else 's'} to {shown(str(output))}.")
