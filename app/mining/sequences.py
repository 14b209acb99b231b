"""Sequential rules "bought A, then B in a later order within W days" and rebuy intervals.

Pure numpy: purchases in, columnar tables out, no I/O. Definitions, over the population
of customers with two or more orders (N of them):

- A customer *holds* an item when any of their orders contains it; `holders(X)` counts
  the population customers holding X.
- A customer *follows A with B* (A != B) when an order of theirs contains A and a strictly
  later order (later timestamp) contains B, at most `window_days` calendar days after
  (days are UTC dates, so the same day is 0 days). Buying A and B in one order is a
  co-purchase, not a sequence, and does not count.
- count(A -> B) = customers following A with B; support = count / N;
  confidence = count / holders(A); lift = confidence / (holders(B) / N), i.e. against
  B's base rate among the population.
- Each following customer contributes one delay: the first day they bought B after an A
  (within the window), measured from their latest purchase of A before it. The median
  and quartiles of those delays use numpy's default (linear) interpolation.
- Replenishment (A -> A): every gap in days between consecutive orders of the same
  customer holding A (strictly later timestamps) is one interval; `repeaters` are the
  customers with at least one interval. No window applies: cycles may exceed it. A is a
  consumable when enough holders rebuy it and at a regular pace: interquartile range of
  the intervals at most `max_interval_spread` times their median. Loyal customers rebuy
  almost anything now and then; only a regular pace makes "every N days" a useful date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.mining.runs import run_quantiles, run_starts
from app.mining.sequence_counts import DelayCounts, delay_counts
from app.mining.sequence_events import SECONDS_PER_DAY, Events, Purchases, prepare
from app.mining.thresholds import DecimalLike, at_least, exact_fraction

__all__ = [
    "SECONDS_PER_DAY",
    "Delays",
    "Events",
    "Purchases",
    "Replenishment",
    "SequenceParams",
    "SequenceTable",
    "mine_events",
    "mine_follow_ups",
    "mine_replenishment",
    "mine_sequences",
    "prepare",
]

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
Floats = NDArray[np.float64]


@dataclass(frozen=True)
class SequenceParams:
    window_days: int = 90
    min_count: int = 5  # customers following A with B
    min_confidence: DecimalLike = "0.02"
    min_lift: DecimalLike = "1.1"
    top_n: int | None = 10  # rules kept per antecedent, best first
    min_repeaters: int = 5  # customers rebuying an item before it counts as a consumable
    min_repeat_share: DecimalLike = "0.2"  # repeaters / holders
    max_interval_spread: float = 1.0  # (q3 - q1) / median of the intervals

    def __post_init__(self) -> None:
        if self.window_days < 0 or self.min_count < 1 or self.min_repeaters < 1:
            raise ValueError("window_days must be >= 0, min_count and min_repeaters >= 1")


@dataclass(frozen=True)
class Delays:
    """First quartile, median and third quartile in days, one value per row."""

    q1: Floats
    median: Floats
    q3: Floats


@dataclass(frozen=True)
class SequenceTable:
    """Rows `antecedent -> consequent`, grouped by antecedent, best (confidence) first."""

    antecedent: Int32s
    consequent: Int32s
    count: Int64s
    antecedent_count: Int64s
    consequent_count: Int64s
    n_customers: int
    delays: Delays

    def __len__(self) -> int:
        return len(self.consequent)

    @property
    def support(self) -> Floats:
        return self.count / float(max(self.n_customers, 1))

    @property
    def confidence(self) -> Floats:
        return self.count / np.maximum(self.antecedent_count, 1).astype(np.float64)

    @property
    def lift(self) -> Floats:
        base = self.consequent_count / float(max(self.n_customers, 1))
        return self.confidence / np.maximum(base, 1e-300)


@dataclass(frozen=True)
class Replenishment:
    """Items customers rebuy (consumables), with their typical interval in days."""

    item: Int32s
    holders: Int64s
    repeaters: Int64s
    intervals: Int64s
    delays: Delays

    @property
    def repeat_share(self) -> Floats:
        return self.repeaters / np.maximum(self.holders, 1).astype(np.float64)


def mine_sequences(purchases: Purchases, params: SequenceParams) -> SequenceTable:
    """Every A -> B meeting the thresholds (inclusive, exact), top_n per antecedent."""
    return _sequences(prepare(purchases), params)


def mine_replenishment(purchases: Purchases, params: SequenceParams) -> Replenishment:
    """Consumables: rebought by `min_repeaters` customers and `min_repeat_share` of holders,
    at a regular pace (see the module docstring)."""
    return _replenishment(prepare(purchases), params)


def mine_follow_ups(
    purchases: Purchases, params: SequenceParams
) -> tuple[SequenceTable, Replenishment]:
    """Both tables, sorting the purchases once."""
    return mine_events(prepare(purchases), params)


def mine_events(events: Events, params: SequenceParams) -> tuple[SequenceTable, Replenishment]:
    """Both tables from purchases already prepared: a caller short of memory frees what it
    prepared them from before mining (History.events() needs no purchases at all)."""
    return _sequences(events, params), _replenishment(events, params)


def _sequences(events: Events, params: SequenceParams) -> SequenceTable:
    parts = [
        _strong_rules(events, params, counts)
        for counts in delay_counts(events, params.window_days, params.min_count)
    ]
    if not parts:
        parts = [_strong_rules(events, params, _NO_COUNTS)]
    a, b, count, held_a, held_b, q1, median, q3 = (
        np.concatenate([part[k] for part in parts]) for k in range(8)
    )
    table = SequenceTable(a, b, count, held_a, held_b, events.n_customers, Delays(q1, median, q3))
    return _ranked(table, params.top_n)


_NO_COUNTS = DelayCounts(*(np.empty(0, np.int64) for _ in range(4)))


def _strong_rules(
    events: Events, params: SequenceParams, counts: DelayCounts
) -> tuple[NDArray[Any], ...]:
    """Rules of one range of antecedents: columns (A, B, count, holders A, holders B, q1,
    median, q3). Rows run by (A, B, delay)."""
    antecedent, consequent = counts.antecedent, counts.consequent
    changed = (consequent[1:] != consequent[:-1]) | (antecedent[1:] != antecedent[:-1])
    starts = np.concatenate(([0], np.flatnonzero(changed) + 1)).astype(np.int64)
    data = counts.customers
    count = np.add.reduceat(data, starts) if len(data) else np.empty(0, np.int64)
    kept = np.flatnonzero(count >= params.min_count)  # most pairs stop here, cheaply
    a, b, count = antecedent[starts[kept]], consequent[starts[kept]], count[kept]
    held_a, held_b = events.holders[a], events.holders[b]
    strong = at_least(count, held_a, exact_fraction("min_confidence", params.min_confidence))
    lift = exact_fraction("min_lift", params.min_lift)
    strong &= at_least(count * np.int64(events.n_customers), held_a * held_b, lift)
    q1, median, q3 = run_quantiles(counts.delay, data, starts, kept[strong])
    return (
        a[strong].astype(np.int32),
        b[strong].astype(np.int32),
        count[strong],
        held_a[strong],
        held_b[strong],
        q1,
        median,
        q3,
    )


def _replenishment(events: Events, params: SequenceParams) -> Replenishment:
    order = events.by_item
    rank, item, at, day = (
        events.rank[order],
        events.item[order],
        events.at[order],
        events.day[order],
    )
    run = np.concatenate(([0], np.cumsum((rank[1:] != rank[:-1]) | (item[1:] != item[:-1]))))
    later = np.flatnonzero((run[1:] == run[:-1]) & (at[1:] > at[:-1])) + 1
    gap_item, gap = item[later].astype(np.int64), day[later] - day[later - 1]
    # Runs are contiguous, so the runs with a gap come out distinct and in order.
    repeating = run_starts(run[later])
    repeaters_of = np.bincount(gap_item[repeating], minlength=events.n_items)
    by_gap = np.argsort(gap_item * (int(gap.max(initial=0)) + 1) + gap, kind="stable")
    gap_item, gap = gap_item[by_gap], gap[by_gap]
    starts = run_starts(gap_item)
    items = gap_item[starts]
    intervals = np.diff(np.append(starts, len(gap_item))).astype(np.int64)
    repeaters, holders = repeaters_of[items].astype(np.int64), events.holders[items]
    share = exact_fraction("min_repeat_share", params.min_repeat_share)
    keep = (repeaters >= params.min_repeaters) & at_least(repeaters, holders, share)
    every = np.arange(len(starts))
    delays = Delays(*run_quantiles(gap, np.ones(len(gap), np.int64), starts, every))
    with np.errstate(invalid="ignore"):  # an infinite spread times a 0 median is nan: kept
        keep &= ~(delays.q3 - delays.q1 > params.max_interval_spread * delays.median)
    kept = np.flatnonzero(keep)
    return Replenishment(
        items[kept].astype(np.int32),
        holders[kept],
        repeaters[kept],
        intervals[kept],
        Delays(delays.q1[kept], delays.median[kept], delays.q3[kept]),
    )


def _ranked(table: SequenceTable, top_n: int | None) -> SequenceTable:
    """Confidence desc, then lift desc, then consequent code: integer orders, exact ties."""
    order = np.lexsort((table.consequent, table.consequent_count, -table.count, table.antecedent))
    if top_n is not None and len(order):
        grouped = table.antecedent[order]
        opens = np.concatenate(([True], grouped[1:] != grouped[:-1]))
        start = np.maximum.accumulate(np.where(opens, np.arange(len(order)), 0))
        order = order[np.arange(len(order)) - start < top_n]
    return SequenceTable(
        table.antecedent[order],
        table.consequent[order],
        table.count[order],
        table.antecedent_count[order],
        table.consequent_count[order],
        table.n_customers,
        Delays(table.delays.q1[order], table.delays.median[order], table.delays.q3[order]),
    )
