"""The statistics of an A/B experiment's report: rates with intervals, chance to beat, sample checks.

Conversion rates carry a 95 % Wilson interval (statsmodels). Whether a variant
beats the control is a Bayesian answer an owner can read: with a uniform prior,
each variant's rate has a Beta(1 + converted, 1 + not converted) posterior, and
the chance that the variant's rate is above the control's is counted over
`DRAWS` paired draws from both (numpy, a fixed seed: the same counts always give
the same report). A variant is called better (or worse) when that chance is at
least `DECISIVE` (or at most 1 − `DECISIVE`); with 0.975 on both sides, a variant
no different from the control is called either in about 5 % of experiments, the
error rate of a two-sided test at α = 0.05 (tests/unit/test_experiment_stats.py
checks both that and the power over many simulated experiments).

An experiment says nothing yet while a variant has fewer than `MIN_EXPOSED`
customers, or fewer than `MIN_EXPECTED` converted or not converted customers
expected at the pooled rate. A split far from the configured one (a sample-ratio
mismatch: the chi-square goodness-of-fit p-value below `SRM_ALPHA`, scipy) means
customers were not assigned or counted as designed, and the figures cannot be
trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy.stats import chisquare
from statsmodels.stats.proportion import proportion_confint

CONFIDENCE = 0.95
DRAWS = 10_000  # the chance is off by at most ~0.5 % near DECISIVE (3 standard errors)
SEED = 20_261_207
DECISIVE = 0.975
MIN_EXPOSED = 100
MIN_EXPECTED = 10
SRM_ALPHA = 0.001
SRM_MIN_EXPECTED = 5  # below this per variant the chi-square approximation does not hold


class Verdict(StrEnum):
    """What the figures say of a variant against the control."""

    BETTER = "better"
    WORSE = "worse"
    UNCLEAR = "unclear"  # no difference shown (yet)
    TOO_FEW = "too_few"  # too small a sample to say anything


@dataclass(frozen=True, slots=True)
class Rate:
    """How many of the exposed customers converted, with a 95 % Wilson interval of the rate."""

    converted: int
    exposed: int
    low: float
    high: float

    @property
    def rate(self) -> float:
        """Return the share that converted (0 with nobody exposed)."""
        return self.converted / self.exposed if self.exposed else 0.0


@dataclass(frozen=True, slots=True)
class Comparison:
    """A variant against the control on one conversion: the chance it is better, and the verdict."""

    chance_to_beat: float
    verdict: Verdict


def rate(converted: int, exposed: int) -> Rate:
    """Return the conversion rate of `exposed` customers with its Wilson interval."""
    if exposed == 0:
        return Rate(0, 0, 0.0, 1.0)
    low, high = proportion_confint(converted, exposed, alpha=1 - CONFIDENCE, method="wilson")
    return Rate(converted, exposed, float(low), float(high))


def chance_to_beat(variant: Rate, control: Rate) -> float:
    """Return the posterior probability that the variant's true rate is above the control's."""
    rng = np.random.default_rng(SEED)
    ours = rng.beta(1 + variant.converted, 1 + variant.exposed - variant.converted, DRAWS)
    theirs = rng.beta(1 + control.converted, 1 + control.exposed - control.converted, DRAWS)
    return float(np.mean(ours > theirs))


def too_few(rates: Sequence[Rate]) -> bool:
    """Tell whether the sample is too small to compare these rates at all."""
    exposed = sum(r.exposed for r in rates)
    pooled = sum(r.converted for r in rates) / exposed if exposed else 0.0
    return any(
        r.exposed < MIN_EXPOSED or min(pooled, 1 - pooled) * r.exposed < MIN_EXPECTED for r in rates
    )


def compare(variant: Rate, control: Rate) -> Comparison:
    """Return how a variant's conversion compares with the control's."""
    chance = chance_to_beat(variant, control)
    if too_few([control, variant]):
        verdict = Verdict.TOO_FEW
    elif chance >= DECISIVE:
        verdict = Verdict.BETTER
    elif chance <= 1 - DECISIVE:
        verdict = Verdict.WORSE
    else:
        verdict = Verdict.UNCLEAR
    return Comparison(chance, verdict)


def sample_ratio_p(exposed: Sequence[int], weights: Sequence[int]) -> float | None:
    """Return the chi-square p-value of the exposures against the configured split.

    None while some variant expects too few customers for the test to hold.
    """
    total = sum(exposed)
    expected = [total * w / sum(weights) for w in weights]
    if min(expected) < SRM_MIN_EXPECTED:
        return None
    return float(chisquare(list(exposed), expected).pvalue)


def sample_ratio_mismatch(p_value: float | None) -> bool:
    """Tell whether the split observed is too far from the configured one to be chance."""
    return p_value is not None and p_value < SRM_ALPHA
