"""`chatshop db ...`: the database."""

from __future__ import annotations

import typer

from bot.cli.common import out, with_shop
from bot.services import Shop

db_app = typer.Typer(help="The database.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply schema migrations up to the newest."""

    async def work(shop: Shop) -> None:
        out.print("The database schema is up to date.")

    with_shop(work)
