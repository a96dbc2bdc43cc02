"""`chatshop report ...`: how the shop sells."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from bot.cli.common import CommandError, out, print_json, shown, with_shop, write_out
from bot.cli.experiments import experiment_as_dict
from bot.services import Shop
from shop.attribution import SourceFigures
from shop.funnel import Funnel, FunnelReport, FunnelService
from shop.models import Channel
from shop.money import format_money
from shop.sales import SalesReport, SalesRow, SalesService
from shop.types import utcnow

if TYPE_CHECKING:
    from shop.experiment_report import ExperimentReport
    from shop.experiment_stats import Comparison, Rate

report_app = typer.Typer(help="How the shop sells.", no_args_is_help=True)

Since = Annotated[str, typer.Option(help="The period: 30d, 12h, 2w, a date (2026-11-01) or all.")]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]
Png = Annotated[
    Path | None, typer.Option("--png", help="Also draw the report as a chart in this PNG file.")
]
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
    since: Since = "30d",
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
    period = _period(start)
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


@report_app.command("funnel")
def report_funnel(
    since: Since = "30d",
    channel: Annotated[
        str | None, typer.Option(help="Only this channel: telegram, whatsapp or console.")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Only this source (a poster, a campaign, broadcast-<id>).")
    ] = None,
    as_json: AsJson = False,
    png: Png = None,
) -> None:
    """Show visit → view → cart → checkout → paid: customers, conversion, money; by channel, source."""
    start = parse_since(since, utcnow())
    if channel is not None and channel not in {c.value for c in Channel}:
        raise CommandError(f"--channel {channel!r}: use one of telegram, whatsapp, console")

    async def work(shop: Shop) -> FunnelReport:
        return await FunnelService(shop.db).report(start, channel=channel, source=source)

    report = with_shop(work)
    only = [f"{what} {name}" for what, name in (("channel", channel), ("source", source)) if name]
    title = ", ".join(["Funnel", _period(start), *only])
    if png is not None:
        from bot.cli.charts import funnel_png  # noqa: PLC0415 (matplotlib takes seconds to load)

        write_out(funnel_png(report, title), png)
    if as_json:
        print_json(report.to_json())
        return
    _funnel_table(title, report)


def _funnel_table(title: str, report: FunnelReport) -> None:
    """Print the funnel's steps overall, by channel and by source, then its money."""
    table = Table(title=title)
    table.add_column("Customers of", justify="left")
    for step in report.overall.steps():
        table.add_column(str(step["step"]).capitalize(), justify="right")
    rows: list[tuple[str, Funnel]] = [("all", report.overall)]
    rows += [(f"channel {name}", f) for name, f in report.by_channel.items()]
    rows += [(f"source {name or '(none)'}", f) for name, f in report.by_source.items()]
    for label, funnel in rows:
        cells = [
            f"{s['customers']}"
            if s["conversion"] is None
            else f"{s['customers']} ({s['conversion']:.0%})"
            for s in funnel.steps()
        ]
        table.add_row(shown(label), *cells)
    out.print(table)
    for m in report.money:
        out.print(
            f"{m.currency}: revenue {format_money(m.revenue, m.currency)} from {m.orders} orders,"
            f" average order {format_money(m.average_order, m.currency)},"
            f" revenue per buyer {format_money(m.per_buyer, m.currency)}"
            + (f", refunded {format_money(m.refunded, m.currency)}" if m.refunded else "")
        )
    rate = report.repeat_rate
    if rate is not None:
        out.print(
            f"Buyers: {report.buyers}, of whom {report.repeat_buyers} bought again ({rate:.0%})."
        )


@report_app.command("sales")
def report_sales(since: Since = "30d", as_json: AsJson = False, png: Png = None) -> None:
    """Show revenue, orders and average order value by day, category and source."""
    start = parse_since(since, utcnow())

    async def work(shop: Shop) -> SalesReport:
        return await SalesService(shop.db).report(start)

    report = with_shop(work)
    title = "Sales, " + _period(start)
    if png is not None:
        from bot.cli.charts import sales_png  # noqa: PLC0415 (as in funnel)

        write_out(sales_png(report, title), png)
    if as_json:
        print_json(report.to_json())
        return
    if not report.total:
        out.print(f"No paid orders {_period(start)}.")
        return
    for heading, rows in (
        ("Total", report.total),
        ("Day", report.by_day),
        ("Category", report.by_category),
        ("Source", report.by_source),
    ):
        out.print(_sales_table(f"{title}: by {heading.lower()}", heading, rows))


def _sales_table(title: str, heading: str, rows: list[SalesRow]) -> Table:
    """Return one breakdown of sales as a table."""
    table = Table(title=title)
    for column in (heading, "Orders", "Revenue", "Average order"):
        table.add_column(column, justify="left" if column == heading else "right")
    for row in rows:
        table.add_row(
            shown(row.key or "(none)"),
            str(row.orders),
            format_money(row.revenue, row.currency),
            format_money(row.average_order, row.currency),
        )
    return table


def _period(start: datetime | None) -> str:
    """Return the period in words."""
    return "all time" if start is None else f"since {start:%Y-%m-%d %H:%M} UTC"


@report_app.command("experiment")
def report_experiment(
    name: Annotated[str, typer.Argument(help="The experiment (`chatshop experiments list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Show an A/B experiment per variant: conversion to cart and to paid, and what it says."""
    # statsmodels and scipy take seconds to import: only this command pays for them.
    from shop.experiment_report import experiment_report  # noqa: PLC0415

    async def work(shop: Shop) -> ExperimentReport:
        return await experiment_report(shop.experiments, name)

    report = with_shop(work)
    if as_json:
        print_json(_experiment_as_dict(report))
        return
    experiment = report.experiment
    state = "running" if experiment.running else "stopped"
    table = Table(title=f"Experiment {shown(experiment.name)} on {experiment.thing.value}, {state}")
    for column in ("Variant", "Split", "Exposed", "To cart (95% CI)", "To paid (95% CI)"):
        table.add_column(column, justify="left" if column == "Variant" else "right")
    for f in report.figures:
        table.add_row(
            shown(f.variant),
            f"{f.weight}%",
            str(f.exposed),
            _rate(f.cart),
            _rate(f.paid),
        )
    out.print(table)
    for c in report.comparisons:
        for step, comparison in (("cart", c.cart), ("paid", c.paid)):
            out.print(
                f"{shown(c.variant)} beats {shown(c.control)} to {step} with probability "
                f"{comparison.chance_to_beat:.1%}: {comparison.verdict.value.replace('_', ' ')}."
            )
    for warning in report.warnings:
        out.print(f"[yellow]warning:[/yellow] {shown(warning)}", soft_wrap=True)


def _rate(r: Rate) -> str:
    """Say a conversion as a count, a rate and its interval."""
    return f"{r.converted} = {r.rate:.1%} ({r.low:.1%}–{r.high:.1%})"


def _experiment_as_dict(report: ExperimentReport) -> dict[str, object]:
    """Return an experiment's report for JSON: counts, rates and chances rounded to 4 places."""

    def rate(r: Rate) -> dict[str, object]:
        return {
            "customers": r.converted,
            "rate": round(r.rate, 4),
            "low": round(r.low, 4),
            "high": round(r.high, 4),
        }

    def comparison(c: Comparison) -> dict[str, object]:
        return {"chance_to_beat": round(c.chance_to_beat, 4), "verdict": c.verdict.value}

    p_value = report.sample_ratio_p
    return {
        **experiment_as_dict(report.experiment),
        "figures": [
            {
                "variant": f.variant,
                "weight": f.weight,
                "exposed": f.exposed,
                "cart": rate(f.cart),
                "paid": rate(f.paid),
            }
            for f in report.figures
        ],
        "comparisons": [
            {
                "variant": c.variant,
                "control": c.control,
                "cart": comparison(c.cart),
                "paid": comparison(c.paid),
            }
            for c in report.comparisons
        ],
        "sample_ratio": {
            "p_value": None if p_value is None else round(p_value, 6),
            "mismatch": report.mismatch,
        },
        "warnings": report.warnings,
    }
