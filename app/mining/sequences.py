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
- Each following customer contributes one delay: their first qualifying purchase of B,
  measured from their latest purchase of A before it. The median and quartiles of those
  delays use numpy's default (linear) interpolation.
- Replenishment (A -> A): every gap in days between consecutive orders of the same
  customer holding A (strictly later timestamps) is one interval; `repeaters` are the
  customers with at least one interval. No window applies: cycles may exceed it. A is a
  consumable when enough holders rebuy it and at a regular pace: interquartile range of
  the intervals at most `max_interval_spread` times their median. Loyal customers rebuy
  almost anything now and then; only a regular pace makes "every N days" a useful date.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from app.mining.runs import merge_counts, run_quantiles, run_starts
from app.mining.thresholds import DecimalLike, at_least, exact_fraction

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
Floats = NDArray[np.float64]
SECONDS_PER_DAY = 86_400
# Candidate (customer, A, B) rows materialised at once; customers never straddle a chunk.
CHUNK_PAIRS = 4_000_000


@dataclass(frozen=True)
class Purchases:
    """One row per order line: customer, order, epoch seconds of the order, item code."""

    customer: Int64s
    order: Int64s
    at: Int64s
    item: Int32s
    n_items: int

    def __post_init__(self) -> None:
        lengths = {len(self.customer), len(self.order), len(self.at), len(self.item)}
        if len(lengths) != 1:
            raise ValueError("customer, order, at and item must be equally long")
        if len(self.item) and (self.item.min() < 0 or self.item.max() >= self.n_items):
            raise ValueError(f"item codes must be within [0, {self.n_items})")


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


@dataclass(frozen=True)
class _Events:
    """Population purchases, distinct per (order, item), sorted by customer, time, order."""

    rank: Int64s  # dense customer number
    order: Int64s
    at: Int64s
    day: Int64s
    item: Int32s
    n_items: int
    n_customers: int
    holders: Int64s  # population customers holding each item


def mine_sequences(purchases: Purchases, params: SequenceParams) -> SequenceTable:
    """Every A -> B meeting the thresholds (inclusive, exact), top_n per antecedent."""
    events = _events(purchases)
    width = params.window_days + 1
    keys, counts = _delay_histogram(events, params.window_days)
    pair, delay = keys // width, keys % width
    starts = run_starts(pair)
    count = np.add.reduceat(counts, starts) if len(starts) else np.empty(0, np.int64)
    a, b = pair[starts] // events.n_items, pair[starts] % events.n_items
    n = np.int64(events.n_customers)
    held_a, held_b = events.holders[a], events.holders[b]
    keep = count >= params.min_count
    keep &= at_least(count, held_a, exact_fraction("min_confidence", params.min_confidence))
    keep &= at_least(count * n, held_a * held_b, exact_fraction("min_lift", params.min_lift))
    kept = np.flatnonzero(keep)
    delays = Delays(*run_quantiles(delay, counts, starts, kept))
    table = SequenceTable(
        a[kept].astype(np.int32), b[kept].astype(np.int32), count[kept],
        held_a[kept], held_b[kept], events.n_customers, delays,
    )  # fmt: skip
    return _ranked(table, params.top_n)


def mine_replenishment(purchases: Purchases, params: SequenceParams) -> Replenishment:
    """Consumables: rebought by `min_repeaters` customers and `min_repeat_share` of holders,
    at a regular pace (see the module docstring)."""
    events = _events(purchases)
    by_item = np.lexsort((events.order, events.at, events.item, events.rank))
    rank, item = events.rank[by_item], events.item[by_item]
    at, day = events.at[by_item], events.day[by_item]
    same = (rank[1:] == rank[:-1]) & (item[1:] == item[:-1]) & (at[1:] > at[:-1])
    later = np.flatnonzero(same) + 1
    gap_item, gap = item[later].astype(np.int64), day[later] - day[later - 1]
    gap_rank = rank[later]
    order = np.lexsort((gap, gap_item))
    gap_item, gap, gap_rank = gap_item[order], gap[order], gap_rank[order]
    starts = run_starts(gap_item)
    items = gap_item[starts]
    intervals = np.diff(np.append(starts, len(gap_item))).astype(np.int64)
    repeat_keys = np.unique(gap_item * max(events.n_customers, 1) + gap_rank)
    repeaters = np.bincount(repeat_keys // max(events.n_customers, 1), minlength=events.n_items)[
        items
    ].astype(np.int64)
    holders = events.holders[items]
    share = exact_fraction("min_repeat_share", params.min_repeat_share)
    keep = (repeaters >= params.min_repeaters) & at_least(repeaters, holders, share)
    delays = Delays(
        *run_quantiles(gap, np.ones(len(gap), np.int64), starts, np.arange(len(starts)))
    )
    with np.errstate(invalid="ignore"):  # an infinite spread times a 0 median is nan: kept
        keep &= ~(delays.q3 - delays.q1 > params.max_interval_spread * delays.median)
    kept = np.flatnonzero(keep)
    return Replenishment(
        items[kept].astype(np.int32), holders[kept], repeaters[kept], intervals[kept],
        Delays(delays.q1[kept], delays.median[kept], delays.q3[kept]),
    )  # fmt: skip


def _events(purchases: Purchases) -> _Events:
    customer, order = purchases.customer, purchases.order
    distinct_orders = np.unique(np.stack((customer, order), axis=1), axis=0)
    ids, orders_per = np.unique(distinct_orders[:, 0], return_counts=True)
    population = ids[orders_per >= 2]
    inside = np.isin(customer, population)
    rank = np.searchsorted(population, customer[inside]).astype(np.int64)
    at, item, order = purchases.at[inside], purchases.item[inside], order[inside]
    sort = np.lexsort((item, order, at, rank))
    rank, at, item, order = rank[sort], at[sort], item[sort], order[sort]
    fresh = np.ones(len(item), dtype=np.bool_)
    fresh[1:] = (order[1:] != order[:-1]) | (item[1:] != item[:-1])
    rank, at, item, order = rank[fresh], at[fresh], item[fresh], order[fresh]
    held = np.unique(rank * purchases.n_items + item)
    holders = np.bincount(held % purchases.n_items, minlength=purchases.n_items)
    return _Events(
        rank, order, at, np.floor_divide(at, SECONDS_PER_DAY), item,
        purchases.n_items, len(population), holders.astype(np.int64),
    )  # fmt: skip


def _delay_histogram(events: _Events, window: int) -> tuple[Int64s, Int64s]:
    """Sorted keys (A * n + B) * (window + 1) + delay with the customers having each."""
    starts, lengths = _followers(events, window)
    customer_starts = run_starts(events.rank)
    cumulative = np.concatenate(([0], np.cumsum(lengths)))
    cuts = _chunk_cuts(cumulative[customer_starts], CHUNK_PAIRS)
    bounds = np.append(customer_starts[cuts], len(lengths))
    keys: list[Int64s] = []
    counts: list[Int64s] = []
    for low, high in pairwise(bounds.tolist()):
        chunk_keys = _chunk_delays(events, starts, lengths, low, high, window)
        found, tally = np.unique(chunk_keys, return_counts=True)
        keys.append(found)
        counts.append(tally.astype(np.int64))
    return merge_counts(keys, counts)


def _followers(events: _Events, window: int) -> tuple[Int64s, Int64s]:
    """Per event, the first event in a strictly later order and how many fall in the window."""
    if len(events.at) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    time_span = int(events.at.max() - events.at.min()) + 1
    time_key = events.rank * time_span + (events.at - events.at.min())
    day_span = int(events.day.max() - events.day.min()) + window + 1
    day_key = events.rank * day_span + (events.day - events.day.min())
    starts = np.searchsorted(time_key, time_key, side="right").astype(np.int64)
    ends = np.searchsorted(day_key, day_key + window, side="right").astype(np.int64)
    return starts, np.maximum(ends - starts, 0)


def _chunk_cuts(cumulative_at_customer: Int64s, size: int) -> Int64s:
    """Indices of the customers that open a new chunk of about `size` candidate rows."""
    if len(cumulative_at_customer) == 0:
        return np.empty(0, np.int64)
    bucket = cumulative_at_customer // size
    return np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))


def _chunk_delays(
    events: _Events, starts: Int64s, lengths: Int64s, low: int, high: int, window: int
) -> Int64s:
    """Keys of one (customer, A, B) each: the first B, from the latest A before it."""
    counts = lengths[low:high]
    first = np.repeat(np.arange(low, high, dtype=np.int64), counts)
    offsets = np.arange(len(first), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    later = np.repeat(starts[low:high], counts) + offsets
    a, b = events.item[first].astype(np.int64), events.item[later].astype(np.int64)
    distinct = a != b
    first, later, a, b = first[distinct], later[distinct], a[distinct], b[distinct]
    delay = events.day[later] - events.day[first]
    n = events.n_items
    # Ranks relative to the chunk keep the key within int64 for large catalogs.
    who = ((events.rank[first] - events.rank[low]) * n + a) * n + b
    pick = np.lexsort((delay, events.at[later], who))
    who, delay, pair = who[pick], delay[pick], (a * n + b)[pick]
    leaders = run_starts(who)
    keys: Int64s = pair[leaders] * (window + 1) + delay[leaders]
    return keys


def _ranked(table: SequenceTable, top_n: int | None) -> SequenceTable:
    """Confidence desc, then lift desc, then consequent code: integer orders, exact ties."""
    order = np.lexsort((table.consequent, table.consequent_count, -table.count, table.antecedent))
    if top_n is not None and len(order):
        grouped = table.antecedent[order]
        opens = np.concatenate(([True], grouped[1:] != grouped[:-1]))
        start = np.maximum.accumulate(np.where(opens, np.arange(len(order)), 0))
        order = order[np.arange(len(order)) - start < top_n]
    return SequenceTable(
        table.antecedent[order], table.consequent[order], table.count[order],
        table.antecedent_count[order], table.consequent_count[order], table.n_customers,
        Delays(table.delays.q1[order], table.delays.median[order], table.delays.q3[order]),
    )  # fmt: skip
