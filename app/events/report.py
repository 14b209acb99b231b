"""The experiment report (pure): per-arm figures, uplifts with intervals, CUPED, SRM, trend."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from app.events.attribution import Attribution, UnitOutcome
from app.events.statistics import Cuped, Moments, Srm, Uplift, cuped, sample_ratio_mismatch
from app.events.statistics import uplift as compare

ARMS = ("treatment", "control")


@dataclass(frozen=True)
class ArmFigures:
    units: int
    orders: int
    revenue: float
    revenue_per_unit: float
    conversion_rate: float
    attributed_revenue: float


@dataclass(frozen=True)
class CupedFigures:
    uplift: Uplift
    theta: float
    variance_reduction: float


@dataclass(frozen=True)
class DayPoint:
    """Cumulative revenue per unit of each arm at the end of one day."""

    day: date
    treatment: float | None
    control: float | None


@dataclass(frozen=True)
class ExperimentReport:
    arms: dict[str, ArmFigures]
    uplift: dict[str, Uplift]
    cuped: CupedFigures | None
    srm: Srm
    crossovers: int
    daily: list[DayPoint] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        found = []
        if self.srm.mismatch:
            found.append(
                f"sample ratio mismatch: control holds {self.srm.observed_share:.2%} of units, "
                f"{self.srm.expected_share:.2%} expected (p = {self.srm.p_value:.2g}); "
                "the split is broken, do not trust the uplift"
            )
        if any(self.arms[arm].units < 2 for arm in ARMS):
            found.append("fewer than 2 units in an arm: no interval yet")
        return found

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["daily"] = [{**point, "day": point["day"].isoformat()} for point in body["daily"]]
        body["warnings"] = self.warnings
        return body


def experiment_report(attribution: Attribution, holdout_percent: float) -> ExperimentReport:
    by_arm = {arm: [u for u in attribution.units.values() if u.variant == arm] for arm in ARMS}
    revenue = {arm: np.array([u.revenue for u in units]) for arm, units in by_arm.items()}
    converted = {
        arm: np.array([float(bool(u.orders)) for u in units]) for arm, units in by_arm.items()
    }
    pre = {arm: np.array([u.pre_revenue for u in units]) for arm, units in by_arm.items()}
    n_treatment, n_control = len(by_arm["treatment"]), len(by_arm["control"])
    return ExperimentReport(
        arms={arm: _figures(units) for arm, units in by_arm.items()},
        uplift={
            "revenue_per_unit": _compare(revenue),
            "conversion_rate": _compare(converted),
        },
        cuped=_cuped(revenue, pre) if min(n_treatment, n_control) >= 2 else None,
        srm=sample_ratio_mismatch(n_treatment, n_control, holdout_percent / 100),
        crossovers=attribution.crossovers,
        daily=daily_trend(attribution.units.values()),
    )


def _compare(values: dict[str, np.ndarray]) -> Uplift:
    return compare(Moments.of(values["treatment"]), Moments.of(values["control"]))


def _cuped(revenue: dict[str, np.ndarray], pre: dict[str, np.ndarray]) -> CupedFigures:
    found: Cuped = cuped(revenue["treatment"], pre["treatment"], revenue["control"], pre["control"])
    return CupedFigures(found.uplift, found.theta, found.variance_reduction)


def _figures(units: list[UnitOutcome]) -> ArmFigures:
    n = len(units)
    revenue = sum(u.revenue for u in units)
    return ArmFigures(
        units=n,
        orders=sum(len(u.orders) for u in units),
        revenue=round(revenue, 2),
        revenue_per_unit=revenue / n if n else 0.0,
        conversion_rate=sum(1 for u in units if u.orders) / n if n else 0.0,
        attributed_revenue=round(sum(u.attributed_revenue for u in units), 2),
    )


def daily_trend(units: Iterable[UnitOutcome]) -> list[DayPoint]:
    """Per day: the revenue so far of the units exposed so far, per unit, in each arm."""
    held = list(units)
    if not held:
        return []
    first = min(day_of(u.first_exposure) for u in held)
    last = max(day_of(at) for u in held for at in [u.first_exposure, *(a for a, _ in u.spend)])
    days = (last - first).days + 1
    joined = {arm: np.zeros(days) for arm in ARMS}
    spent = {arm: np.zeros(days) for arm in ARMS}
    for unit in held:
        if unit.variant not in joined:
            continue
        joined[unit.variant][(day_of(unit.first_exposure) - first).days] += 1
        for at, amount in unit.spend:
            spent[unit.variant][(day_of(at) - first).days] += amount
    per_unit = {arm: _ratio(np.cumsum(spent[arm]), np.cumsum(joined[arm])) for arm in ARMS}
    return [
        DayPoint(first + timedelta(days=d), per_unit["treatment"][d], per_unit["control"][d])
        for d in range(days)
    ]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> list[float | None]:
    return [float(n / d) if d else None for n, d in zip(numerator, denominator, strict=True)]


def day_of(epoch: float) -> date:
    return datetime.fromtimestamp(epoch, UTC).date()
