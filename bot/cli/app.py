"""The `chatshop` command line: every group and command in one app, and how failures are told."""

from __future__ import annotations

import logging
import os
import sys

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from bot.cli import serve
from bot.cli.broadcast import broadcast_app
from bot.cli.catalog import catalog_app
from bot.cli.common import CommandError, err
from bot.cli.customers import customers_app
from bot.cli.db import db_app
from bot.cli.experiments import experiments_app
from bot.cli.orders import orders_app
from bot.cli.promos import promos_app
from bot.cli.qr import qr_app
from bot.cli.report import report_app
from bot.cli.search import search
from qr.errors import QrError
from shop.catalog_file import CatalogFileError
from shop.db import DatabaseUrlError
from shop.deeplink import PayloadError
from shop.errors import ShopError
from shop.plaintext import visible

app = typer.Typer(
    help="chatshop: sell through chat — Telegram, WhatsApp and QR posters, one shop core.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(serve.run)
app.command()(serve.worker)
app.command()(serve.demo)
app.command()(search)
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(qr_app, name="qr")
app.add_typer(report_app, name="report")
app.add_typer(orders_app, name="orders")
app.add_typer(promos_app, name="promos")
app.add_typer(customers_app, name="customers")
app.add_typer(experiments_app, name="experiments")
app.add_typer(broadcast_app, name="broadcast")


def main() -> None:
    """Run the command line; report failures as one line and a non-zero exit, never a traceback."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        if os.environ.get("CHATSHOP_DEBUG"):
            raise
        message, status = _explain(error)
        # A file name or a stored value may hold escape codes: shown, never obeyed.
        shown = visible(message, multiline=True)
        err.print(f"error: {shown}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(status)


def _explain(error: Exception) -> tuple[str, int]:
    """Return what to tell staff about a failure, and the exit status."""
    if isinstance(error, CatalogFileError | CommandError | ShopError | QrError | PayloadError):
        return str(error), 1
    if isinstance(error, DatabaseUrlError):
        return f"DATABASE_URL: {error}", 2
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]).upper()
        return f"setting {where}: {first['msg']}", 2
    if isinstance(error, SQLAlchemyError):
        return (
            f"database: {error.__class__.__name__}: {error.args[0] if error.args else ''}",
            1,
        )
    return f"{error.__class__.__name__}: {error} (set CHATSHOP_DEBUG=1 for details)", 1
