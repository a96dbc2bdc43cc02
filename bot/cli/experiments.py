"""`chatshop experiments ...`: the owner starts, lists and stops A/B experiments."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import CommandError, iso, out, print_json, shown, with_shop
from bot.services import Shop
from shop.experiments import CHOICES, ExperimentView, Thing

experiments_app = typer.Typer(
    help="A/B experiments: start, list, stop (see `chatshop report experiment`).",
    no_args_is_help=True,
)


@experiments_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A name of your own, e.g. cta-dec.")],
    on: Annotated[
        Thing,
        typer.Option(
            "--on",
            case_sensitive=False,
            help="What it varies: the add-to-cart wording, Buy now, or a promo offered in the cart.",
        ),
    ],
    variants: Annotated[
        str | None,
        typer.Option(
            metavar="A,B",
            help="Variants, the control first. cta: "
            + ", ".join(CHOICES[Thing.CTA])
            + f"; buy_now: {', '.join(CHOICES[Thing.BUY_NOW])}"
            + f"; cart_promo: {', '.join(CHOICES[Thing.CART_PROMO])}; buy_now and cart_promo test both by default.",
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(metavar="50/50", help="Percent of customers per variant; even by default."),
    ] = None,
    promo: Annotated[
        str | None,
        typer.Option(metavar="CODE", help="The promo code offered (cart_promo only)."),
    ] = None,
) -> None:
    """Start an experiment: each customer gets one variant, the same on every channel."""
    chosen = None if variants is None else [v.strip().lower() for v in variants.split(",")]
    weights = None if split is None else _weights(split)

    async def work(shop: Shop) -> ExperimentView:
        return await shop.experiments.create(name, on, chosen, weights, promo_code=promo)

    experiment = with_shop(work)
    out.print(f"Started {shown(experiment.name)}: {_terms(experiment)}.", soft_wrap=True)


@experiments_app.command("list")
def list_experiments(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array on stdout.")] = False,
) -> None:
    """List every experiment, running ones first."""

    async def work(shop: Shop) -> list[ExperimentView]:
        return await shop.experiments.list_all()

    experiments = with_shop(work)
    if as_json:
        print_json([experiment_as_dict(e) for e in experiments])
        return
    if not experiments:
        out.print("No experiments yet: `chatshop experiments create` starts one.")
        return
    table = Table(title="Experiments")
    for column in ("Name", "Varies", "Started", "Stopped"):
        table.add_column(column)
    for e in experiments:
        stopped = "running" if e.stopped_at is None else f"{e.stopped_at:%Y-%m-%d %H:%M}"
        table.add_row(shown(e.name), _terms(e), f"{e.started_at:%Y-%m-%d %H:%M}", stopped)
    out.print(table)


@experiments_app.command("stop")
def stop(name: Annotated[str, typer.Argument(help="The experiment.")]) -> None:
    """Stop an experiment: everyone sees the shop's own choice again; its report stays."""

    async def work(shop: Shop) -> ExperimentView:
        return await shop.experiments.stop(name)

    experiment = with_shop(work)
    out.print(
        f"{shown(experiment.name)} is stopped; `chatshop report experiment {shown(experiment.name)}` "
        "reports it."
    )


def _weights(text: str) -> list[int]:
    """Read a split such as "50/50" or "34/33/33"."""
    parts = text.split("/")
    if not all(part.strip().isdecimal() for part in parts):
        raise CommandError(f"--split {text!r}: whole percentages joined by '/', e.g. 50/50")
    return [int(part) for part in parts]


def _terms(experiment: ExperimentView) -> str:
    """Say in one line what an experiment varies and how customers are split."""
    arms = " / ".join(
        f"{variant} {weight}%"
        for variant, weight in zip(experiment.variants, experiment.weights, strict=True)
    )
    promo = f", offering {experiment.promo_code}" if experiment.promo_code else ""
    return f"{experiment.thing.value}: {arms}{promo}"


def experiment_as_dict(experiment: ExperimentView) -> dict[str, object]:
    """Return an experiment for JSON, times in ISO 8601 UTC."""
    return {
        "name": experiment.name,
        "on": experiment.thing.value,
        "variants": list(experiment.variants),
        "split": list(experiment.weights),
        "promo": experiment.promo_code,
        "started_at": iso(experiment.started_at),
        "stopped_at": iso(experiment.stopped_at),
        "running": experiment.running,
    }
