"""Synthetic experiment traffic with a planted uplift, in the event log's own record format.

Each unit is assigned by the real hash, shown one answer, and then buys (or not). A
unit's appetite `w` (gamma, mean 1) scales both its spend in the 30 days before the
exposure and after it, which is what makes CUPED useful. Treatment buys more often;
the planted uplift in revenue per unit is known exactly from the parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.events.assign import variant_for
from app.events.stream import Record

DAY = 86_400.0
SHOWN = ("card-love", "choc-truffles-200g", "balloon-heart")


@dataclass(frozen=True)
class Planted:
    units: int = 4_000
    holdout_percent: float = 50.0
    salt: str = "simulation"
    control_buy_rate: float = 0.20
    treatment_buy_rate: float = 0.24
    mean_line: float = 20.0  # mean price of a purchase line; orders hold 1-3 lines
    start: float = 1_764_547_200.0  # 2025-12-01 00:00 UTC
    days: int = 14

    @property
    def mean_order(self) -> float:
        return 2 * self.mean_line  # 1-3 lines, uniform: 2 lines on average

    @property
    def revenue_per_unit_uplift(self) -> float:
        return (self.treatment_buy_rate - self.control_buy_rate) * self.mean_order

    @property
    def conversion_uplift(self) -> float:
        return self.treatment_buy_rate - self.control_buy_rate


def simulate(planted: Planted, seed: int) -> list[Record]:
    """Exposures and purchase events (each unit at most one order after its exposure)."""
    rng = np.random.default_rng(seed)
    records: list[Record] = []
    for n in range(planted.units):
        unit = f"sim-{seed}-{n}"
        variant = variant_for(unit, planted.salt, planted.holdout_percent)
        appetite = float(rng.gamma(4.0, 0.25))
        shown_at = planted.start + float(rng.uniform(0, planted.days * DAY))
        records.append(_exposure(f"{unit}-r", unit, variant, shown_at))
        if rng.random() < min(planted.control_buy_rate * appetite, 1.0) * 0.5:
            before = shown_at - float(rng.uniform(1, 29)) * DAY
            records.append(_purchase(f"{unit}-pre", unit, before, _lines(rng, planted, appetite)))
        rate = planted.treatment_buy_rate if variant == "treatment" else planted.control_buy_rate
        if rng.random() < rate:
            at = shown_at + float(rng.uniform(60, 20 * 3600))
            records.append(_purchase(f"{unit}-o", unit, at, _lines(rng, planted, appetite)))
    return records


def _lines(rng: np.random.Generator, planted: Planted, appetite: float) -> list[list[object]]:
    count = int(rng.integers(1, 4))
    # Prices in cents: the database keeps them exactly, so sums can be compared exactly.
    prices = np.round(rng.exponential(planted.mean_line * appetite, count), 2)
    skus = rng.choice(len(SHOWN), count)
    return [[SHOWN[int(s)], 1, float(p)] for s, p in zip(skus, prices, strict=True)]


def _exposure(request_id: str, unit: str, variant: str, at: float) -> Record:
    skus = list(SHOWN) if variant == "treatment" else ["roses-pink-12"]
    return {
        "kind": "exposure",
        "request_id": request_id,
        "unit": unit,
        "variant": variant,
        "endpoint": "recommend",
        "skus": skus,
        "at": at,
    }


def _purchase(event_id: str, unit: str, at: float, lines: list[list[object]]) -> Record:
    return {
        "kind": "event",
        "event_id": event_id,
        "type": "purchase",
        "customer_id": unit,
        "session_id": None,
        "request_id": None,
        "at": at,
        "sku": None,
        "order_id": event_id,
        "lines": lines,
    }
