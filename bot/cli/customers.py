"""`chatshop customers ...`: who the shop's customers are, for the owner's own records."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import CommandError, err, shown, with_shop
from bot.wiring import Shop
from shop.customer_file import write_customers
from shop.views import CustomerView

customers_app = typer.Typer(help="Customers: export them.", no_args_is_help=True)


@customers_app.command("export")
def export(
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Where to write the .csv [default: stdout]."),
    ] = None,
) -> None:
    """Write every customer as CSV: channel, name, language, marketing consent, first source, contact.

    A spreadsheet opens it as plain data: no cell runs as a formula.
    """

    async def work(shop: Shop) -> list[CustomerView]:
        return await shop.customers.all_customers()

    customers = with_shop(work)
    data = write_customers(customers)
    if output is None:
        sys.stdout.buffer.write(data)
        return
    try:
        output.write_bytes(data)
    except OSError as error:
        raise CommandError(f"cannot write {output}: {error.strerror}") from None
    count = len(customers)
    err.print(f"Exported {count} customer{'' if count == 1 else 's'} to {shown(str(output))}.")
