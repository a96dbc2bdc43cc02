"""The report of an A/B experiment: per variant, conversion to cart and to paid, and what they say.

Kept apart from shop/experiments.py: statsmodels and scipy take seconds to import,
and only the report needs them.
"""

from __future__ import annotations

from dataclasses import dataclass

from shop.experiment_stats import (
    MIN_EXPECTED,
    MIN_EXPOSED,
    SRM_ALPHA,
    Comparison,
    Rate,
    compare,
    rate,
    sample_ratio_mismatch,
    sample_ratio_p,
    too_few,
)
from shop.experiments import ExperimentService, ExperimentView


@dataclass(frozen=True, slots=True)
class VariantFigures:
    """One variant: its share of the split, the units exposed, and their conversion."""

    variant: str
    weight: int
    exposed: int
    cart: Rate
    paid: Rate


@dataclass(frozen=True, slots=True)
class VariantComparison:
    """A variant against the control (the first variant), on each conversion."""

    variant: str
    control: str
    cart: Comparison
    paid: Comparison


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    """Everything `chatshop report experiment` shows."""

    experiment: ExperimentView
    figures: list[VariantFigures]
    comparisons: list[VariantComparison]
    sample_ratio_p: float | None
    warnings: list[str]

    @property
    def mismatch(self) -> bool:
        """Tell whether the split observed is far from the configured one (SRM)."""
        return sample_ratio_mismatch(self.sample_ratio_p)


async def experiment_report(experiments: ExperimentService, name: str) -> ExperimentReport:
    """Return the report of the experiment `name` from what customers did.

    Raises:
        NotFoundError: no such experiment.
    """
    experiment = await experiments.get(name)
    counts = await experiments.counts(experiment)
    figures = [
        VariantFigures(
            c.variant, c.weight, c.exposed, rate(c.to_cart, c.exposed), rate(c.to_paid, c.exposed)
        )
        for c in counts
    ]
    control, *others = figures
    comparisons = [
        VariantComparison(
            f.variant, control.variant, compare(f.cart, control.cart), compare(f.paid, control.paid)
        )
        for f in others
    ]
    p_value = sample_ratio_p([f.exposed for f in figures], experiment.weights)
    warnings = [
        f"to {step}: too few customers to say anything yet (each variant needs "
        f"{MIN_EXPOSED} exposed, and {MIN_EXPECTED} converting and not converting "
        "at the rate seen)"
        for step, rates in (
            ("cart", [f.cart for f in figures]),
            ("paid", [f.paid for f in figures]),
        )
        if too_few(rates)
    ]
    if sample_ratio_mismatch(p_value):
        seen = "/".join(str(f.exposed) for f in figures)
        split = "/".join(str(w) for w in experiment.weights)
        warnings.append(
            f"sample-ratio mismatch: {seen} exposed against a {split} split "
            f"(chi-square p = {p_value:.2g} < {SRM_ALPHA}): customers were not assigned "
            "or counted as designed, so these figures cannot be trusted"
        )
    return ExperimentReport(experiment, figures, comparisons, p_value, warnings)
