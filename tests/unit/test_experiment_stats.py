"""The experiment report's statistics, checked as statistical properties over many simulated experiments.

numpy only generates the counts (vectorised, one seed per test); the functions
under test are those the report uses.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

from shop.experiment_stats import (
    MIN_EXPOSED,
    Verdict,
    compare,
    rate,
    sample_ratio_mismatch,
    sample_ratio_p,
)

EXPOSED = 1_000  # customers per variant in each simulated experiment
CONTROL_RATE = 0.10
ALPHA = 0.05  # the stated error rate: DECISIVE = 0.975 on either side


def _verdicts(
    control_rate: float, variant_rate: float, experiments: int, seed: int
) -> list[Verdict]:
    rng = np.random.default_rng(seed)
    control = rng.binomial(EXPOSED, control_rate, experiments)
    variant = rng.binomial(EXPOSED, variant_rate, experiments)
    return [
        compare(rate(int(v), EXPOSED), rate(int(c), EXPOSED)).verdict
        for c, v in zip(control, variant, strict=True)
    ]


def test_a_real_lift_is_detected_in_most_experiments() -> None:
    verdicts = _verdicts(CONTROL_RATE, 0.15, experiments=300, seed=1)
    # A two-sided test at 5 % has about 93 % power here; at least 80 % is the promise.
    assert verdicts.count(Verdict.BETTER) / len(verdicts) >= 0.80
    assert Verdict.WORSE not in verdicts


def test_a_real_drop_is_called_worse() -> None:
    verdicts = _verdicts(CONTROL_RATE, 0.05, experiments=100, seed=2)
    assert verdicts.count(Verdict.WORSE) / len(verdicts) >= 0.80


def test_no_difference_is_flagged_no_more_often_than_the_stated_error_rate() -> None:
    experiments = 500
    verdicts = _verdicts(CONTROL_RATE, CONTROL_RATE, experiments=experiments, seed=3)
    flagged = sum(v in (Verdict.BETTER, Verdict.WORSE) for v in verdicts)
    # Within what chance allows around 5 % (one time in a thousand above it by luck).
    assert flagged <= binom.ppf(0.999, experiments, ALPHA)
    assert flagged >= binom.ppf(0.001, experiments, ALPHA)  # not a test that never speaks


def test_a_small_sample_says_too_few_whatever_the_rates() -> None:
    small = MIN_EXPOSED - 1
    assert compare(rate(90, small), rate(10, small)).verdict == Verdict.TOO_FEW
    # Enough customers, but too few conversions expected to say anything.
    assert compare(rate(3, 1_000), rate(1, 1_000)).verdict == Verdict.TOO_FEW


def test_rates_carry_a_wilson_interval() -> None:
    r = rate(30, 100)
    assert r.rate == 0.3
    # Wilson's 95 % interval for 30 of 100 (a textbook value).
    assert (round(r.low, 4), round(r.high, 4)) == (0.2189, 0.3958)
    assert rate(0, 0).rate == 0.0


def test_a_skewed_split_is_flagged_and_a_fair_one_is_not() -> None:
    experiments, customers = 500, 10_000
    rng = np.random.default_rng(4)
    fair = rng.binomial(customers, 0.5, experiments)
    skewed = rng.binomial(customers, 0.53, experiments)
    fair_flags = sum(
        sample_ratio_mismatch(sample_ratio_p([int(a), customers - int(a)], [50, 50])) for a in fair
    )
    skewed_flags = sum(
        sample_ratio_mismatch(sample_ratio_p([int(a), customers - int(a)], [50, 50]))
        for a in skewed
    )
    assert fair_flags <= binom.ppf(0.999, experiments, 0.001)  # SRM_ALPHA
    assert skewed_flags / experiments >= 0.99


def test_the_split_is_checked_against_the_configured_weights() -> None:
    assert not sample_ratio_mismatch(sample_ratio_p([7_000, 3_000], [70, 30]))
    assert sample_ratio_mismatch(sample_ratio_p([5_000, 5_000], [70, 30]))
    assert sample_ratio_p([3, 1], [50, 50]) is None  # too few to test
