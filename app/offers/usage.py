"""Usage reports: validation against the plan catalog and least-squares growth trends."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from app.offers.errors import InvalidUsage


@dataclass(frozen=True, slots=True)
class UsageSample:
    """Usage measured at one moment; `at` is a date or a datetime."""

    at: date
    usage: Mapping[str, float]


def validate_usage(
    usage: Mapping[str, float],
    history: Sequence[UsageSample],
    today: date,
    known_resources: frozenset[str],
) -> None:
    """Raise InvalidUsage naming the first bad field, as the API reports it."""
    if not usage:
        raise InvalidUsage("usage", "must report at least one resource")
    _check_values("usage", usage, known_resources)
    for index, sample in enumerate(history):
        where = f"usage_history[{index}]"
        if index > 0 and day_number(sample.at) < day_number(history[index - 1].at):
            raise InvalidUsage(
                f"{where}.at",
                f"{sample.at} is earlier than usage_history[{index - 1}].at; "
                "history must be in chronological order",
            )
        # Compared by calendar day, so a datetime later today is still history.
        if sample.at.toordinal() > today.toordinal():
            raise InvalidUsage(f"{where}.at", f"{sample.at} is after today ({today})")
        _check_values(f"{where}.usage", sample.usage, known_resources)


def growth_per_day(
    usage: Mapping[str, float], history: Sequence[UsageSample], today: date
) -> dict[str, float]:
    """Trend of each resource in `usage`, in units per day.

    The trend is the ordinary least-squares slope through every history sample
    that reports the resource plus the current usage at `today`. Fewer than
    two distinct moments give no trend (0.0). A negative slope is kept; callers
    treat it as "not growing".
    """
    now = day_number(today)
    trends: dict[str, float] = {}
    for resource, current in usage.items():
        points = [
            (day_number(s.at) - now, s.usage[resource]) for s in history if resource in s.usage
        ]
        points.append((0.0, current))
        trends[resource] = _slope(points)
    return trends


# Far beyond any real quota, and small enough that trend arithmetic cannot overflow.
MAX_USAGE = 1e15


def day_number(moment: date) -> float:
    """Days since 0001-01-01; a datetime adds its own wall-clock time of day."""
    if isinstance(moment, datetime):
        elapsed = moment - moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return moment.toordinal() + elapsed.total_seconds() / 86400
    return float(moment.toordinal())


def _slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope, centred on the means (stable for day numbers)."""
    count = len(points)
    mean_day = sum(day for day, _ in points) / count
    mean_value = sum(value for _, value in points) / count
    spread = together = 0.0
    for day, value in points:
        offset = day - mean_day
        spread += offset * offset
        together += offset * (value - mean_value)
    return together / spread if spread else 0.0  # one distinct moment: no trend


def _check_values(where: str, values: Mapping[str, float], known: frozenset[str]) -> None:
    for resource, value in values.items():
        field = f"{where}.{resource}"
        if not math.isfinite(value) or value < 0 or value > MAX_USAGE:
            raise InvalidUsage(field, f"must be a number from 0 to {MAX_USAGE:g}, got {value!r}")
        if resource not in known:
            raise InvalidUsage(field, "usage without a quota to compare: no plan has this quota")
