"""`chatshop report ...`: how the shop sells."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import CommandError, out, print_json, shown, with_shop
from bot.services import Shop
from shop.attribution import SourceFigures
from shop.money import format_money
from shop.types import utcnow

report_app = typer.Typer(help="How the shop sells.", no_args_is_help=True)

_PERIOD = re.compile(r"(\d+)\s*([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime | None:
    """Read "30d", "12h", "2w", a date ("2026-11-01") or "all" (None); raise CommandError otherwise."""
    value = text.strip().lower()
    if value == "all":
        return None
    match = _PERIOD.fullmatch(value)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--since {text!r}: use 30d, 12h, 2w, a date like 2026-11-01, or all"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@report_app.command("qr")
def report_qr(
    since: Annotated[
        str, typer.Option(help="The period: 30d, 12h, 2w, a date (2026-11-01) or all.")
    ] = "30d",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array on stdout.")] = False,
) -> None:
    """List per source: scans, customers, carts, orders, revenue and conversion."""
    start = parse_since(since, utcnow())

    async def work(shop: Shop) -> list[SourceFigures]:
        return await shop.attribution.report(start)

    figures = with_shop(work)
    if as_json:
        print_json([_as_dict(f) for f in figures])
        return
    period = "all time" if start is None else f"since {start:%Y-%m-%d %H:%M} UTC"
    if not figures:
        out.print(f"No scans of QR codes {period}.")
        return
    table = Table(title=f"QR codes by source, {period}")
    for column in ("Source", "Scans", "Customers", "Carts", "Orders", "Revenue", "Conversion"):
        table.add_column(column, justify="left" if column == "Source" else "right")
    for f in figures:
        revenue = " + ".join(
            format_money(amount, currency) for currency, amount in sorted(f.revenue.items())
        )
        table.add_row(
            shown(f.source),
            str(f.scans),
            str(f.customers),
            str(f.carts),
            str(f.orders),
            revenue or "—",
            f"{f.conversion:.1%}",
        )
    out.print(table)


def _as_dict(figures: SourceFigures) -> dict[str, object]:
    """Return one source's figures for JSON (revenue in minor units per currency)."""
    return {
        "source": figures.source,
        "scans": figures.scans,
        "customers": figures.customers,
        "carts": figures.carts,
        "orders": figures.orders,
        "buyers": figures.buyers,
        "revenue": figures.revenue,
        "conversion": round(figures.conversion, 4),
    }
