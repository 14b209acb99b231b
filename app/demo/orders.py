"""Demo order history: who orders when, what, and what they come back for later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from app.demo.baskets import SKU_INDEX, SKUS, BoolArray, IntArray, Rng, add_picks, draw_baskets
from app.demo.patterns import FOLLOW_UPS, OCCASIONS, FollowUp
from app.demo.seasons import season_curves, weekday_factors

MINUTES_PER_DAY = 1440
# A minority of loyal customers order several times as often as the rest.
FREQUENT_SHARE = 0.12
FREQUENT_ACTIVITY = 4.0
# Relative order volume per hour of the day (UTC): lunch breaks and evenings.
HOUR_WEIGHTS = np.array(
    [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 4, 5, 6, 7, 6, 5, 5, 5, 6, 7, 8, 8, 6, 4, 2],
    dtype=np.float64,
)


@dataclass(frozen=True)
class Orders:
    """Orders as parallel arrays; `basket` is an order x SKU membership matrix."""

    customer: IntArray
    minute: IntArray
    basket: BoolArray
    premium: BoolArray

    @property
    def size(self) -> int:
        return int(self.customer.size)

    def take(self, index: IntArray | BoolArray) -> Orders:
        return Orders(
            self.customer[index], self.minute[index], self.basket[index], self.premium[index]
        )


def simulate_orders(rng: Rng, *, n_orders: int, n_customers: int, start: date, days: int) -> Orders:
    """`n_orders` orders over `days` days, sorted by time, with planted patterns."""
    customer, premium = _assign_customers(rng, n_orders, n_customers)
    day, occasion = _draw_days(rng, n_orders, start, days)
    basket = draw_baskets(rng, occasion, premium)
    primary = Orders(customer + 1, _at_time_of_day(rng, day), basket, premium)
    later, fired = _follow_ups(rng, primary, days)
    # Follow-ups replace ordinary repeat orders, so the total stays as asked.
    kept = primary.take(_keep_mask(rng, primary, fired, later.size))
    merged = _concat([kept, later])
    return merged.take(np.argsort(merged.minute, kind="stable"))


def _assign_customers(rng: Rng, n_orders: int, n_customers: int) -> tuple[IntArray, BoolArray]:
    """0-based customer per order (each customer at least once) and its segment."""
    frequent = rng.random(n_customers) < FREQUENT_SHARE
    activity = rng.gamma(1.5, 1.0, n_customers) * np.where(frequent, FREQUENT_ACTIVITY, 1.0)
    if n_orders >= n_customers:
        first = np.arange(n_customers, dtype=np.int64)
    else:
        first = rng.choice(n_customers, n_orders, replace=False)
    repeat = rng.choice(n_customers, n_orders - first.size, p=activity / activity.sum())
    customer = np.concatenate([first, repeat])
    return customer, frequent[customer]


def _draw_days(rng: Rng, n: int, start: date, days: int) -> tuple[IntArray, IntArray]:
    """Day index and occasion (OCCASIONS index) per order, following the seasons."""
    curves = season_curves(start, days)
    weights = np.tile([spec.share for spec in OCCASIONS], (days, 1))
    for column, spec in enumerate(OCCASIONS):
        if spec.season is not None:
            weights[:, column] *= 1.0 + spec.boost * curves[spec.season]
    weights *= weekday_factors(start, days)[:, None]
    per_day = weights.sum(axis=1)
    day = rng.choice(days, n, p=per_day / per_day.sum())
    cumulative = np.cumsum(weights / per_day[:, None], axis=1)
    occasion = (rng.random(n)[:, None] > cumulative[day]).sum(axis=1)
    return day, np.minimum(occasion, len(OCCASIONS) - 1)


def _at_time_of_day(rng: Rng, day: IntArray) -> IntArray:
    hour = rng.choice(24, day.size, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    minute: IntArray = day * MINUTES_PER_DAY + hour * 60 + rng.integers(0, 60, day.size)
    return minute


def _follow_ups(rng: Rng, primary: Orders, days: int) -> tuple[Orders, BoolArray]:
    """Later orders caused by earlier ones, and which primary orders caused one."""
    parts: list[Orders] = []
    fired_primary = np.zeros(primary.size, dtype=np.bool_)
    pending, rules = primary, FOLLOW_UPS
    while pending.size and rules:
        results = [_follow_rule(rng, pending, rule, days) for rule in rules]
        if pending is primary:
            fired_primary = np.logical_or.reduce([fired for _, fired in results])
        pending = _concat([orders for orders, _ in results])
        parts.append(pending)
        # Only re-orders of consumables keep triggering further orders.
        rules = tuple(rule for rule in FOLLOW_UPS if rule.repeat)
    return _concat(parts, empty_like=primary), fired_primary


def _follow_rule(rng: Rng, orders: Orders, rule: FollowUp, days: int) -> tuple[Orders, BoolArray]:
    """Orders `rule` adds after `orders`, and which of `orders` triggered one."""
    triggers = np.array([SKU_INDEX[sku] for sku in rule.triggers])
    has_trigger = orders.basket[:, triggers].any(axis=1)
    if rule.unless:
        has_trigger &= ~orders.basket[:, [SKU_INDEX[sku] for sku in rule.unless]].any(axis=1)
    low, high = rule.delay_days
    day = orders.minute // MINUTES_PER_DAY + rng.integers(low, high + 1, orders.size)
    fired = has_trigger & (rng.random(orders.size) < rule.p) & (day < days)
    rows = np.flatnonzero(fired)
    basket = np.zeros((rows.size, len(SKUS)), dtype=np.bool_)
    add_picks(rng, basket, np.arange(rows.size), rule.picks)
    if rule.repeat:
        bought = triggers[np.argmax(orders.basket[rows][:, triggers], axis=1)]
        basket[np.arange(rows.size), bought] = True
    minute = _at_time_of_day(rng, day[rows])
    later = Orders(orders.customer[rows], minute, basket, orders.premium[rows])
    return later, fired


def _keep_mask(rng: Rng, primary: Orders, fired: BoolArray, n_drop: int) -> BoolArray:
    """Primary orders to keep after dropping `n_drop` ordinary repeat orders."""
    by_customer = np.lexsort((primary.minute, primary.customer))
    sorted_customer = primary.customer[by_customer]
    first = np.zeros(primary.size, dtype=np.bool_)
    first[by_customer[np.r_[True, sorted_customer[1:] != sorted_customer[:-1]]]] = True
    droppable = np.flatnonzero(~fired & ~first)
    dropped = rng.choice(droppable, min(n_drop, droppable.size), replace=False)
    keep = np.ones(primary.size, dtype=np.bool_)
    keep[dropped] = False
    return keep


def _concat(parts: list[Orders], empty_like: Orders | None = None) -> Orders:
    if not parts:
        assert empty_like is not None
        return empty_like.take(np.zeros(0, dtype=np.int64))
    return Orders(
        np.concatenate([p.customer for p in parts]),
        np.concatenate([p.minute for p in parts]),
        np.concatenate([p.basket for p in parts]),
        np.concatenate([p.premium for p in parts]),
    )
