"""Attribution (pure): each exposed unit's arm, revenue, orders and attributed revenue.

A unit's arm is that of its first exposure in the window (a unit that later shows up in
the other arm, after the split or salt changed, is counted as `crossovers` and stays in
its first arm). Its revenue is every purchase line at or after that first exposure; a
line is attributed when the unit was shown that SKU within `attribution_hours` before
the purchase. `pre_revenue` (the CUPED covariate) is what the unit spent in the
`pre_days` before its first exposure.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

DAY = 86_400.0


@dataclass(frozen=True)
class Shown:
    unit: str
    variant: str
    at: float  # epoch seconds
    skus: tuple[str, ...]


@dataclass(frozen=True)
class Purchase:
    unit: str
    order_id: str
    at: float
    lines: tuple[tuple[str, float, float], ...]  # sku, quantity, unit price

    @property
    def revenue(self) -> float:
        return sum(quantity * price for _, quantity, price in self.lines)


@dataclass
class UnitOutcome:
    variant: str
    first_exposure: float
    revenue: float = 0.0
    orders: set[str] = field(default_factory=set)
    attributed_revenue: float = 0.0
    pre_revenue: float = 0.0
    spend: list[tuple[float, float]] = field(default_factory=list)  # (at, revenue) after exposure


@dataclass(frozen=True)
class Attribution:
    units: dict[str, UnitOutcome]
    crossovers: int


def attribute(
    exposures: Iterable[Shown],
    purchases: Iterable[Purchase],
    attribution_hours: float = 24.0,
    pre_days: float = 30.0,
) -> Attribution:
    shown: dict[str, list[Shown]] = {}
    for exposure in sorted(exposures, key=lambda e: e.at):
        shown.setdefault(exposure.unit, []).append(exposure)
    units = {unit: UnitOutcome(seen[0].variant, seen[0].at) for unit, seen in shown.items()}
    crossovers = sum(1 for seen in shown.values() if len({e.variant for e in seen}) > 1)
    window = attribution_hours * 3600
    for purchase in purchases:
        outcome = units.get(purchase.unit)
        if outcome is None:
            continue
        if purchase.at < outcome.first_exposure:
            if purchase.at >= outcome.first_exposure - pre_days * DAY:
                outcome.pre_revenue += purchase.revenue
            continue
        outcome.revenue += purchase.revenue
        outcome.spend.append((purchase.at, purchase.revenue))
        outcome.orders.add(purchase.order_id)
        outcome.attributed_revenue += _attributed(purchase, shown[purchase.unit], window)
    return Attribution(units, crossovers)


def _attributed(purchase: Purchase, seen: list[Shown], window: float) -> float:
    """Revenue of the lines whose SKU one of the unit's answers showed within the window."""
    times = [e.at for e in seen]
    start = bisect.bisect_left(times, purchase.at - window)
    end = bisect.bisect_right(times, purchase.at)
    recent = {sku for exposure in seen[start:end] for sku in exposure.skus}
    return sum(q * price for sku, q, price in purchase.lines if sku in recent)


def attributed_revenue(
    purchases: Iterable[Purchase], exposures: Iterable[Shown], attribution_hours: float = 24.0
) -> float:
    """What these purchases spent on SKUs shown to their unit shortly before (the metric's sum)."""
    shown: dict[str, list[Shown]] = {}
    for exposure in sorted(exposures, key=lambda e: e.at):
        shown.setdefault(exposure.unit, []).append(exposure)
    window = attribution_hours * 3600
    return sum(
        _attributed(purchase, shown[purchase.unit], window)
        for purchase in purchases
        if purchase.unit in shown
    )
