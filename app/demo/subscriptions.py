"""Demo storage-plan histories and current storage usage for a subset of shop customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from app.demo.baskets import BoolArray, IntArray, Rng
from app.demo.catalog import PLANS
from app.demo.csvfile import iso_utc

SUBSCRIPTION_HEADER = ("customer_id", "plan_id", "started_at", "ended_at")
USAGE_HEADER = ("customer_id", "resource", "value", "at")
STORAGE_RESOURCE = "storage_gb"
SUBSCRIBER_SHARE = 0.3
MINUTES_PER_DAY = 1440
# Plan histories may begin up to a year before the order history does.
PLAN_HISTORY_DAYS = 365
PLAN_IDS: tuple[str, ...] = tuple(plan.plan_id for plan in PLANS)
QUOTA_GB = np.array([plan.storage_gb for plan in PLANS], dtype=np.float64)
CANCEL, STAY = len(PLANS), len(PLANS) + 1
# `ended` of a period that is still running.
STILL_OPEN = np.iinfo(np.int64).min

ENTRY_SHARE: dict[str, float] = {
    "free-5gb": 0.35,
    "basic-100gb": 0.45,
    "plus-2tb": 0.1,
    "family-2tb": 0.05,
    "business-5tb": 0.03,
    "legacy-pro-10tb": 0.02,
}
# Plan -> (next plan, or None for a cancellation, and its probability); the rest stay.
MOVES: dict[str, tuple[tuple[str | None, float], ...]] = {
    "free-5gb": (("basic-100gb", 0.3), ("plus-2tb", 0.05)),
    "basic-100gb": (("plus-2tb", 0.35), ("family-2tb", 0.08), (None, 0.05)),
    "plus-2tb": (("family-2tb", 0.06), ("business-5tb", 0.03), (None, 0.04)),
    "family-2tb": (("business-5tb", 0.02), (None, 0.03)),
    "business-5tb": ((None, 0.03),),
    "legacy-pro-10tb": (("business-5tb", 0.1), (None, 0.1)),
}
# Many who move do so within a month: they hit the limit soon after signing up.
FAST_SHARE = 0.4
FAST_MEAN_DAYS = 10.0
SLOW_DAYS = (31, 400)
# The legacy plan closed to new customers half a year before the order history starts.
LEGACY_ENTRY_DAYS = (-PLAN_HISTORY_DAYS, -180)
NEAR_FULL_SHARE = 0.12
USAGE_LOOKBACK_DAYS = 30


@dataclass(frozen=True)
class Segments:
    """One row per plan period, in minutes since the start date (negative: before it)."""

    customer: IntArray
    plan: IntArray
    started: IntArray
    ended: IntArray

    @property
    def current(self) -> BoolArray:
        still_open: BoolArray = self.ended == STILL_OPEN
        return still_open

    def take(self, index: IntArray) -> Segments:
        return Segments(
            self.customer[index], self.plan[index], self.started[index], self.ended[index]
        )

    @staticmethod
    def concat(parts: list[Segments]) -> Segments:
        return Segments(
            np.concatenate([p.customer for p in parts]),
            np.concatenate([p.plan for p in parts]),
            np.concatenate([p.started for p in parts]),
            np.concatenate([p.ended for p in parts]),
        )


def simulate_subscriptions(rng: Rng, n_customers: int, days: int) -> Segments:
    """Plan periods of ~SUBSCRIBER_SHARE of customers, in minutes since the start date."""
    n_subscribers = round(n_customers * SUBSCRIBER_SHARE)
    customer = np.sort(rng.choice(n_customers, n_subscribers, replace=False)) + 1
    plan = rng.choice(len(PLANS), n_subscribers, p=_entry_shares())
    day = rng.integers(-PLAN_HISTORY_DAYS, days, n_subscribers)
    legacy = plan == PLAN_IDS.index("legacy-pro-10tb")
    day[legacy] = rng.integers(*LEGACY_ENTRY_DAYS, int(legacy.sum()))
    started = day * MINUTES_PER_DAY + rng.integers(0, MINUTES_PER_DAY, n_subscribers)
    parts: list[Segments] = []
    while not parts or customer.size:
        period, customer, plan, started = _next_period(rng, customer, plan, started, days)
        parts.append(period)
    merged = Segments.concat(parts)
    return merged.take(np.lexsort((merged.started, merged.customer)))


def _entry_shares() -> list[float]:
    return [ENTRY_SHARE.get(plan_id, 0.0) for plan_id in PLAN_IDS]


def _move_matrix() -> np.ndarray[tuple[int, int], np.dtype[np.float64]]:
    """Row per plan: probabilities of moving to each plan, cancelling, or staying."""
    matrix = np.zeros((len(PLANS), len(PLANS) + 2))
    for row, plan_id in enumerate(PLAN_IDS):
        for target, p in MOVES.get(plan_id, ()):
            matrix[row, CANCEL if target is None else PLAN_IDS.index(target)] = p
        matrix[row, STAY] = 1.0 - matrix[row].sum()
    return matrix


def _next_period(
    rng: Rng, customer: IntArray, plan: IntArray, started: IntArray, days: int
) -> tuple[Segments, IntArray, IntArray, IntArray]:
    """Close or keep each open period; returns it and the periods that follow it."""
    cumulative = np.cumsum(_move_matrix()[plan], axis=1)
    outcome = np.minimum((rng.random(plan.size)[:, None] > cumulative).sum(axis=1), STAY)
    delay = np.where(
        rng.random(plan.size) < FAST_SHARE,
        1 + rng.exponential(FAST_MEAN_DAYS, plan.size).astype(np.int64),
        rng.integers(*SLOW_DAYS, plan.size),
    )
    ends = started + delay * MINUTES_PER_DAY
    moved = (outcome != STAY) & (ends < days * MINUTES_PER_DAY)
    period = Segments(customer, plan, started, np.where(moved, ends, STILL_OPEN))
    upgraded = moved & (outcome != CANCEL)
    return period, customer[upgraded], outcome[upgraded], ends[upgraded]


def subscription_rows(segments: Segments, start: date) -> list[tuple[str, ...]]:
    """Rows of subscriptions.csv; an empty ended_at marks the current plan."""
    started = iso_utc(start, segments.started)
    current = segments.current.tolist()
    ended = iso_utc(start, np.where(segments.current, 0, segments.ended))
    customers, plans = segments.customer.tolist(), segments.plan.tolist()
    return [
        (str(customers[i]), PLAN_IDS[plans[i]], started[i], "" if current[i] else ended[i])
        for i in range(len(customers))
    ]


def usage_rows(rng: Rng, segments: Segments, start: date, days: int) -> list[tuple[str, ...]]:
    """Storage used on each current plan, a month ago (if already on it) and now."""
    current = segments.current
    customer, plan = segments.customer[current], segments.plan[current]
    now = _current_tenths(rng, plan)
    # Storage mostly grows: a month ago it was somewhat lower.
    before = np.round(now * rng.uniform(0.75, 1.0, now.size)).astype(np.int64).tolist()
    # Measured at the end of the history, after every period in it has started.
    now_at = days * MINUTES_PER_DAY
    before_at = now_at - USAGE_LOOKBACK_DAYS * MINUTES_PER_DAY
    had_plan = (segments.started[current] <= before_at).tolist()
    stamp_now, stamp_before = iso_utc(start, np.array([now_at, before_at]))
    now_tenths = now.tolist()
    rows: list[tuple[str, ...]] = []
    for i, customer_id in enumerate(customer.tolist()):
        if had_plan[i]:
            rows.append((str(customer_id), STORAGE_RESOURCE, _gb(before[i]), stamp_before))
        rows.append((str(customer_id), STORAGE_RESOURCE, _gb(now_tenths[i]), stamp_now))
    return rows


def _current_tenths(rng: Rng, plan: IntArray) -> IntArray:
    """Storage used now in tenths of a GB; some customers are close to their quota."""
    near_full = rng.random(plan.size) < NEAR_FULL_SHARE
    fraction = np.where(
        near_full, rng.uniform(0.88, 0.99, plan.size), rng.beta(2.0, 3.0, plan.size)
    )
    tenths = np.round(QUOTA_GB[plan] * fraction * 10).astype(np.int64)
    # The README's upgrade-offer example: a 100 GB customer at 96 GB.
    basic = np.flatnonzero(plan == PLAN_IDS.index("basic-100gb"))
    if basic.size:
        tenths[basic[0]] = 960
    return tenths


def _gb(tenths: int) -> str:
    return f"{tenths // 10}.{tenths % 10}"
