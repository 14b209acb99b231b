"""Experiment statistics (pure): uplift with Welch / delta-method intervals, CUPED, SRM.

Every metric here is a mean over units (revenue per unit, conversion rate as the mean
of a 0/1 per unit), so the units are the independent observations:

- absolute uplift: difference of means with Welch's t interval (unequal variances,
  Welch-Satterthwaite degrees of freedom);
- relative uplift: the ratio of means minus one; its interval by the delta method,
  Var(mt/mc) ~ Var(mt)/mc^2 + mt^2 Var(mc)/mc^4 (the two arms are independent);
- CUPED: Y - theta (X - mean X), theta = Cov(Y, X)/Var(X) over both arms, X being each
  unit's revenue before its first exposure; unbiased because X predates the assignment;
- always-valid interval: the normal-mixture confidence sequence (Howard et al. 2021),
  valid at every look, with the mixture tuned for about `tuning` units;
- sample-ratio mismatch: chi-square of the arms' unit counts against the configured split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
SRM_ALPHA = 0.001
SEQUENTIAL_TUNING = 5_000  # the sample size the sequential interval is tightest near
Interval = tuple[float, float]


@dataclass(frozen=True)
class Moments:
    """n, mean and unbiased variance of one arm's per-unit values."""

    n: int
    mean: float
    variance: float

    @classmethod
    def of(cls, values: Sequence[float] | np.ndarray) -> Moments:
        array = np.asarray(values, dtype=float)
        n = int(array.size)
        mean = float(array.mean()) if n else 0.0
        variance = float(array.var(ddof=1)) if n > 1 else 0.0
        return cls(n, mean, variance)

    @property
    def variance_of_mean(self) -> float:
        return self.variance / self.n if self.n else math.inf


@dataclass(frozen=True)
class Uplift:
    """Treatment minus control; None where the data cannot support a figure."""

    absolute: float
    relative: float | None
    ci95: Interval | None
    relative_ci95: Interval | None
    p_value: float | None
    sequential_ci95: Interval | None


def uplift(treatment: Moments, control: Moments, alpha: float = ALPHA) -> Uplift:
    diff = treatment.mean - control.mean
    relative = diff / control.mean if control.mean else None
    if treatment.n < 2 or control.n < 2:
        return Uplift(diff, relative, None, None, None, None)
    se2 = treatment.variance_of_mean + control.variance_of_mean
    if se2 <= 0:  # both arms constant: the difference is known exactly
        exact = (diff, diff)
        return Uplift(diff, relative, exact, _rel_exact(relative), 1.0 if diff == 0 else 0.0, exact)
    df = welch_df(treatment, control)
    t_crit = float(stats.t.ppf(1 - alpha / 2, df))
    half = t_crit * math.sqrt(se2)
    p_value = float(2 * stats.t.sf(abs(diff) / math.sqrt(se2), df))
    return Uplift(
        diff,
        relative,
        (diff - half, diff + half),
        relative_interval(treatment, control, t_crit),
        p_value,
        sequential_interval(diff, se2, treatment.n + control.n, alpha),
    )


def _rel_exact(relative: float | None) -> Interval | None:
    return None if relative is None else (relative, relative)


def mean_interval(sample: Moments, alpha: float = ALPHA) -> Interval | None:
    """Student's t interval of one arm's mean (None below two units)."""
    if sample.n < 2:
        return None
    half = float(stats.t.ppf(1 - alpha / 2, sample.n - 1)) * math.sqrt(sample.variance_of_mean)
    return (sample.mean - half, sample.mean + half)


def welch_df(a: Moments, b: Moments) -> float:
    va, vb = a.variance_of_mean, b.variance_of_mean
    denominator = va**2 / (a.n - 1) + vb**2 / (b.n - 1)
    return (va + vb) ** 2 / denominator if denominator > 0 else float(a.n + b.n - 2)


def relative_interval(treatment: Moments, control: Moments, critical: float) -> Interval | None:
    """Delta method for mt/mc - 1 (None when the control mean is zero)."""
    mt, mc = treatment.mean, control.mean
    if mc == 0:
        return None
    variance = treatment.variance_of_mean / mc**2 + mt**2 * control.variance_of_mean / mc**4
    centre, half = mt / mc - 1, critical * math.sqrt(variance)
    return (centre - half, centre + half)


def sequential_interval(
    diff: float, se2: float, n: int, alpha: float = ALPHA, tuning: int = SEQUENTIAL_TUNING
) -> Interval:
    """Always-valid interval: looking at it daily does not inflate false positives."""
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning
    s2 = se2 * n  # per-unit variance of the difference
    scale = (2 * (n * rho2 + 1) / (n**2 * rho2)) * math.log(math.sqrt(n * rho2 + 1) / alpha)
    half = math.sqrt(s2 * scale)
    return (diff - half, diff + half)


@dataclass(frozen=True)
class Cuped:
    uplift: Uplift
    theta: float
    variance_reduction: float  # share of the metric's variance the covariate removed


def cuped(
    y_treatment: np.ndarray,
    x_treatment: np.ndarray,
    y_control: np.ndarray,
    x_control: np.ndarray,
    alpha: float = ALPHA,
) -> Cuped:
    y = np.concatenate([y_treatment, y_control]).astype(float)
    x = np.concatenate([x_treatment, x_control]).astype(float)
    var_x = float(x.var(ddof=1)) if x.size > 1 else 0.0
    theta = float(np.cov(y, x, ddof=1)[0, 1] / var_x) if var_x > 0 else 0.0
    mean_x = float(x.mean()) if x.size else 0.0
    adjusted_t = y_treatment - theta * (x_treatment - mean_x)
    adjusted_c = y_control - theta * (x_control - mean_x)
    var_y = float(y.var(ddof=1)) if y.size > 1 else 0.0
    var_adj = float(np.concatenate([adjusted_t, adjusted_c]).var(ddof=1)) if y.size > 1 else 0.0
    reduction = 1 - var_adj / var_y if var_y > 0 else 0.0
    return Cuped(uplift(Moments.of(adjusted_t), Moments.of(adjusted_c), alpha), theta, reduction)


@dataclass(frozen=True)
class Srm:
    expected_share: float  # of units in control
    observed_share: float | None
    p_value: float | None
    mismatch: bool


def sample_ratio_mismatch(
    treatment_units: int, control_units: int, expected_control_share: float
) -> Srm:
    total = treatment_units + control_units
    if total == 0 or not 0 < expected_control_share < 1:
        return Srm(expected_control_share, None, None, False)
    expected = [total * (1 - expected_control_share), total * expected_control_share]
    p_value = float(stats.chisquare([treatment_units, control_units], expected).pvalue)
    return Srm(expected_control_share, control_units / total, p_value, p_value < SRM_ALPHA)
