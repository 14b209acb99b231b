"""Experiment statistics against hand-computed figures, scipy, and simulated coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from app.events.assign import BUCKETS, bucket, unit_of, variant_for
from app.events.statistics import (
    Moments,
    cuped,
    sample_ratio_mismatch,
    sequential_interval,
    uplift,
    welch_df,
)

T = Moments.of([1, 2, 3, 4, 5])  # mean 3, variance 2.5
C = Moments.of([2, 4, 6])  # mean 4, variance 4


def test_moments_are_the_mean_and_unbiased_variance() -> None:
    assert (T.n, T.mean, T.variance) == (5, 3.0, 2.5)
    assert (C.n, C.mean, C.variance) == (3, 4.0, 4.0)


def test_welch_matches_the_hand_computed_figures() -> None:
    # se^2 = 2.5/5 + 4/3 = 1.8333; df = se^4 / ((0.5^2)/4 + (1.3333^2)/2) = 3.5328
    assert welch_df(T, C) == pytest.approx(3.5328, abs=1e-4)
    found = uplift(T, C)
    half = stats.t.ppf(0.975, 3.5328) * math.sqrt(1.8333333)
    assert found.absolute == -1.0
    assert found.ci95 == pytest.approx((-1 - half, -1 + half), abs=1e-3)
    # Delta method: (mt/mc - 1) = -0.25, Var = 0.5/16 + 9 * 1.3333 / 256 = 0.078125
    rel_half = stats.t.ppf(0.975, 3.5328) * math.sqrt(0.078125)
    assert found.relative == -0.25
    assert found.relative_ci95 == pytest.approx((-0.25 - rel_half, -0.25 + rel_half), abs=1e-3)


def test_welch_agrees_with_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.exponential(10, 300), rng.exponential(12, 200)
    found = uplift(Moments.of(a), Moments.of(b))
    reference = stats.ttest_ind(a, b, equal_var=False)
    interval = reference.confidence_interval(0.95)
    assert found.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert found.ci95 == pytest.approx((interval.low, interval.high), rel=1e-9)


def test_no_interval_without_two_units_per_arm() -> None:
    found = uplift(Moments.of([5.0]), Moments.of([1.0, 2.0]))
    assert found.ci95 is None and found.p_value is None and found.absolute == 3.5


def test_the_sequential_interval_matches_the_hand_computed_width() -> None:
    # rho^2 = (-2 ln .05 + ln(1 - 2 ln .05)) / 5000 = 0.00158724; n = 1000, se^2 = 0.01
    low, high = sequential_interval(0.0, 0.01, 1000)
    assert high == pytest.approx(0.336388, rel=1e-4) and low == -high


def test_srm_flags_a_skewed_split_only_below_one_in_a_thousand() -> None:
    fine = sample_ratio_mismatch(550, 450, 0.5)  # chi^2 = 10, p = 0.00157
    skewed = sample_ratio_mismatch(560, 440, 0.5)  # chi^2 = 14.4, p = 0.000148
    assert fine.p_value == pytest.approx(0.001565, rel=1e-3) and not fine.mismatch
    assert skewed.p_value == pytest.approx(0.0001478, rel=1e-3) and skewed.mismatch
    assert skewed.observed_share == 0.44


def revenue(rng: np.random.Generator, n: int, buy_rate: float, mean: float) -> np.ndarray:
    """Most units buy nothing; buyers' baskets are skewed (lognormal), as shops' are."""
    sigma = 0.8
    mu = math.log(mean) - sigma**2 / 2
    return (rng.random(n) < buy_rate) * rng.lognormal(mu, sigma, n)


def test_the_interval_covers_the_planted_uplift_about_95_times_in_100() -> None:
    rng = np.random.default_rng(2024)
    planted = 0.30 * 40 - 0.25 * 40  # E[revenue]: buy rate x mean basket
    covered = 0
    for _ in range(400):
        t, c = revenue(rng, 600, 0.30, 40), revenue(rng, 600, 0.25, 40)
        low, high = uplift(Moments.of(t), Moments.of(c)).ci95 or (0, 0)
        covered += low <= planted <= high
    assert 0.93 <= covered / 400 <= 0.97


def test_peeking_daily_at_the_sequential_interval_keeps_false_positives_rare() -> None:
    rng = np.random.default_rng(7)
    fixed_alarms = sequential_alarms = 0
    for _ in range(300):  # A/A experiments looked at after each of 20 days
        t, c = revenue(rng, 4000, 0.25, 40), revenue(rng, 4000, 0.25, 40)
        fixed = sequential = False
        for day in range(1, 21):
            found = uplift(Moments.of(t[: day * 200]), Moments.of(c[: day * 200]))
            low, high = found.ci95 or (0, 0)
            s_low, s_high = found.sequential_ci95 or (0, 0)
            fixed |= not low <= 0 <= high
            sequential |= not s_low <= 0 <= s_high
        fixed_alarms += fixed
        sequential_alarms += sequential
    assert sequential_alarms / 300 <= 0.05 < fixed_alarms / 300  # peeking inflates the plain one


def test_cuped_removes_the_variance_the_covariate_explains_and_stays_unbiased() -> None:
    rng = np.random.default_rng(11)
    covered = 0
    reductions = []
    for _ in range(200):
        x_t, x_c = rng.gamma(2, 20, 800), rng.gamma(2, 20, 800)
        y_t = 0.8 * x_t + rng.normal(0, 15, 800) + 5  # planted +5 per unit
        y_c = 0.8 * x_c + rng.normal(0, 15, 800)
        adjusted = cuped(y_t, x_t, y_c, x_c)
        plain = uplift(Moments.of(y_t), Moments.of(y_c))
        low, high = adjusted.uplift.ci95 or (0, 0)
        plain_low, plain_high = plain.ci95 or (0, 0)
        assert high - low < plain_high - plain_low
        covered += low <= 5 <= high
        reductions.append(adjusted.variance_reduction)
    assert 0.92 <= covered / 200 <= 0.98
    # Var(0.8 X) = 0.64 * 800 = 512 of 512 + 225: about 69 % removable
    assert np.mean(reductions) == pytest.approx(512 / 737, abs=0.03)


def test_a_unit_always_lands_in_the_same_arm() -> None:
    assert variant_for("c-1", "s", 10) == variant_for("c-1", "s", 10)
    assert bucket("salt", "c-1") == bucket("salt", "c-1") != bucket("other", "c-1")
    assert variant_for(None, "s", 10) == "none" and variant_for("c-1", "s", 0) == "treatment"
    assert unit_of("c-1", "s-1") == "c-1" and unit_of(None, "s-1") == "s-1"


def test_the_held_out_share_is_the_configured_percent() -> None:
    arms = [variant_for(f"c-{n}", "spring", 12.5) for n in range(40_000)]
    assert arms.count("control") / len(arms) == pytest.approx(0.125, abs=0.006)
    assert BUCKETS == 10_000
