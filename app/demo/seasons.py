"""Gift-shop calendar: how strongly each day leads up to Valentine's, Mother's Day, Christmas."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray


def valentines_day(year: int) -> date:
    return date(year, 2, 14)


def mothers_day(year: int) -> date:
    """Second Sunday of May, as in most of Europe and the Americas."""
    first = date(year, 5, 1)
    first_sunday = first + timedelta(days=(6 - first.weekday()) % 7)
    return first_sunday + timedelta(days=7)


def christmas_eve(year: int) -> date:
    return date(year, 12, 24)


# Season -> (its peak day, how many days before the peak buying starts).
SEASONS: dict[str, tuple[Callable[[int], date], int]] = {
    "valentine": (valentines_day, 10),
    "mothers-day": (mothers_day, 7),
    "christmas": (christmas_eve, 35),
}
# Monday..Sunday: gifts are ordered more on Saturdays, less on Sundays.
WEEKDAY_FACTOR = np.array([1.0, 1.0, 1.0, 1.0, 1.05, 1.2, 0.8])


def season_curves(start: date, days: int) -> dict[str, NDArray[np.float64]]:
    """Per-day intensity in [0, 1] of each season: a ramp up to its peak, then nothing."""
    ordinals = start.toordinal() + np.arange(days)
    last_year = (start + timedelta(days=days)).year
    curves: dict[str, NDArray[np.float64]] = {}
    for name, (peak_of, ramp_days) in SEASONS.items():
        curve = np.zeros(days)
        for year in range(start.year, last_year + 1):
            lead = peak_of(year).toordinal() - ordinals
            ramp = np.where((lead >= 0) & (lead < ramp_days), 1.0 - lead / ramp_days, 0.0)
            curve = np.maximum(curve, ramp)
        curves[name] = curve
    return curves


def weekday_factors(start: date, days: int) -> NDArray[np.float64]:
    """Per-day multiplier for the day of the week."""
    weekdays = (start.weekday() + np.arange(days)) % 7
    factors: NDArray[np.float64] = WEEKDAY_FACTOR[weekdays]
    return factors
