"""`chatshop report ...`: how the shop sells."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from bot.cli.common import CommandError, out, print_json, shown, with_shop
from bot.cli.experiments import experiment_as_dict
from bot.services import Shop
from shop.attribution import SourceFigures
from shop.money import format_money
from shop.types import utcnow

if TYPE_CHECKING:
    from shop.experiment_report import ExperimentReport
    from shop.experiment_stats import Comparison, Rate

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
