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
from itertools import pairwise

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from app.mining.runs import run_quantiles, run_starts
from app.mining.thresholds import DecimalLike, at_least, exact_fraction

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
Floats = NDArray[np.float64]
SECONDS_PER_DAY = 86_400
# Candidate (customer, A, B) rows materialised at once; customers never straddle a chunk.
CHUNK_PAIRS = 1_000_000
# First follow-ups buffered before they are added to the sparse tally.
TALLY_ROWS = 8_000_000


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
    """Population purchases, distinct per (order, item), sorted by customer, time, order, item."""

    rank: Int64s  # dense customer number
    at: Int64s
    day: Int64s
    item: Int32s
    n_items: int
    n_customers: int
    holders: Int64s  # population customers holding each item
    by_item: Int64s  # the permutation that sorts by customer, item, time, order


def mine_sequences(purchases: Purchases, params: SequenceParams) -> SequenceTable:
    """Every A -> B meeting the thresholds (inclusive, exact), top_n per antecedent."""
    return _sequences(_events(purchases), params)


def mine_replenishment(purchases: Purchases, params: SequenceParams) -> Replenishment:
    """Consumables: rebought by `min_repeaters` customers and `min_repeat_share` of holders,
    at a regular pace (see the module docstring)."""
    return _replenishment(_events(purchases), params)


def mine_follow_ups(
    purchases: Purchases, params: SequenceParams
) -> tuple[SequenceTable, Replenishment]:
    """Both tables, sorting the purchases once."""
    events = _events(purchases)
    return _sequences(events, params), _replenishment(events, params)


def _sequences(events: _Events, params: SequenceParams) -> SequenceTable:
    width = params.window_days + 1
    keys, counts = _delay_histogram(events, params.window_days)
    pair, delay = keys // width, keys % width
    starts = run_starts(pair)
    count = np.add.reduceat(counts, starts) if len(starts) else np.empty(0, np.int64)
    a, b = pair[starts] // events.n_items, pair[starts] % events.n_items
    n = np.int64(events.n_customers)
    held_a, held_b = events.holders[a], events.holders[b]
    kept = np.flatnonzero(count >= params.min_count)  # most pairs stop here, cheaply
    keep = at_least(
        count[kept], held_a[kept], exact_fraction("min_confidence", params.min_confidence)
    )
    kept = kept[keep]
    lift = exact_fraction("min_lift", params.min_lift)
    kept = kept[at_least(count[kept] * n, held_a[kept] * held_b[kept], lift)]
    delays = Delays(*run_quantiles(delay, counts, starts, kept))
    table = SequenceTable(
        a[kept].astype(np.int32), b[kept].astype(np.int32), count[kept],
        held_a[kept], held_b[kept], events.n_customers, delays,
    )  # fmt: skip
    return _ranked(table, params.top_n)


def _replenishment(events: _Events, params: SequenceParams) -> Replenishment:
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
        items[kept].astype(np.int32), holders[kept], repeaters[kept], intervals[kept],
        Delays(delays.q1[kept], delays.median[kept], delays.q3[kept]),
    )  # fmt: skip


def _events(purchases: Purchases) -> _Events:
    n = purchases.n_items
    order = _dense(purchases.order)
    # One row per (order, item), sorted by order then item; np.unique keeps the first line.
    keys, first = np.unique(order * n + purchases.item, return_index=True)
    order, item = keys // n, (keys % n).astype(np.int32)
    customer, at = purchases.customer[first], purchases.at[first]
    opens = run_starts(order)
    ids, orders_per = np.unique(customer[opens], return_counts=True)
    population = ids[orders_per >= 2]
    inside = np.isin(customer, population)
    rank = np.searchsorted(population, customer[inside]).astype(np.int64)
    at, item = at[inside], item[inside]
    span = int(at.max() - at.min()) + 1 if len(at) else 1
    # Stable sorts keep (order, item) order among equal keys, so no lexsort is needed.
    by_time = np.argsort(rank * span + (at - at.min(initial=0)), kind="stable")
    rank, at, item = rank[by_time], at[by_time], item[by_time]
    by_item = np.argsort(rank * n + item, kind="stable").astype(np.int64)
    held = by_item[run_starts(rank[by_item] * n + item[by_item])]
    holders = np.bincount(item[held], minlength=n).astype(np.int64)
    return _Events(
        rank, at, np.floor_divide(at, SECONDS_PER_DAY), item, n, len(population), holders, by_item
    )


def _dense(values: Int64s) -> Int64s:
    """Values as small non-negative numbers, so order * n_items + item stays in int64."""
    if len(values) == 0 or (values.min() >= 0 and values.max() < 2**40):
        return values
    dense: Int64s = np.unique(values, return_inverse=True)[1].astype(np.int64).reshape(-1)
    return dense


def _delay_histogram(events: _Events, window: int) -> tuple[Int64s, Int64s]:
    """Sorted keys (A * n + B) * (window + 1) + delay with the customers having each."""
    starts, lengths = _followers(events, window)
    n, width = events.n_items, window + 1
    stride = (int(events.day.max(initial=0) - events.day.min(initial=0)) + 1) * width
    bounds = _chunk_bounds(events.rank, lengths, max(1, 2**62 // (n * n * stride)))
    tally = _Tally(n, n * width)
    for low, high in pairwise(bounds.tolist()):
        tally.add(_first_follow_ups(events, starts, lengths, low, high, window, stride))
    counts = tally.total()
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(counts.indptr))
    # Columns are B * width + delay, so (A, column) order is (A, B, delay) order.
    keys: Int64s = rows * (n * width) + counts.indices
    return keys, counts.data.astype(np.int64)


class _Tally:
    """Customers per (A, B, delay) key, held as a sparse row per A.

    Keys are buffered, then sorted (a plain sort of packed integers is fast) and counted;
    each batch joins the running total with a sparse addition, a linear merge in C++, so
    memory follows the distinct keys rather than the follow-ups seen.
    """

    def __init__(self, rows: int, columns: int) -> None:
        self._shape = (rows, columns)
        self._sum = sp.csr_array(self._shape, dtype=np.int64)
        self._parts: list[Int64s] = []
        self._pending = 0

    def add(self, keys: Int64s) -> None:
        """Keys are row * columns + column."""
        self._parts.append(keys)
        self._pending += len(keys)
        if self._pending >= TALLY_ROWS:
            self._flush()

    def total(self) -> sp.csr_array[np.int64, tuple[int, int]]:
        self._flush()
        return self._sum

    def _flush(self) -> None:
        if not self._parts:
            return
        keys = np.sort(np.concatenate(self._parts))
        self._parts, self._pending = [], 0
        starts = run_starts(keys)
        counts = np.diff(np.append(starts, len(keys)))
        rows, columns = np.divmod(keys[starts], self._shape[1])
        indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=self._shape[0]))))
        batch = sp.csr_array((counts, columns, indptr), shape=self._shape)
        batch.has_canonical_format = True  # sorted, distinct: scipy need not check again
        self._sum = self._sum + batch


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


def _chunk_bounds(rank: Int64s, lengths: Int64s, max_customers: int) -> Int64s:
    """Event index bounds of chunks: whole customers, about CHUNK_PAIRS candidates each."""
    customer_starts = run_starts(rank)
    if len(customer_starts) == 0:
        return np.zeros(1, np.int64)
    before = np.concatenate(([0], np.cumsum(lengths)))[customer_starts]
    by_pairs = before // CHUNK_PAIRS
    by_customers = np.arange(len(customer_starts)) // max_customers
    opens = np.concatenate(
        ([True], (by_pairs[1:] != by_pairs[:-1]) | (by_customers[1:] != by_customers[:-1]))
    )
    return np.append(customer_starts[opens], len(rank))


def _first_follow_ups(
    events: _Events,
    starts: Int64s,
    lengths: Int64s,
    low: int,
    high: int,
    window: int,
    stride: int,
) -> Int64s:
    """Key (A * n + B) * width + delay, once per customer and A != B: their first day with
    a B after an A, at the shortest delay that day. One plain sort of packed keys finds it:
    sorting values is several times faster than any argsort."""
    counts = lengths[low:high]
    first = np.repeat(np.arange(low, high, dtype=np.int64), counts)
    offsets = np.arange(len(first), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    later = np.repeat(starts[low:high], counts) + offsets
    a, b = events.item[first].astype(np.int64), events.item[later].astype(np.int64)
    distinct = a != b
    first, later, a, b = first[distinct], later[distinct], a[distinct], b[distinct]
    n, width = events.n_items, window + 1
    day = events.day[later]
    # Ranks relative to the chunk (and few enough customers per chunk) keep this in int64.
    who = ((events.rank[first] - events.rank[low]) * n + a) * n + b
    keys = who * stride + (day - events.day.min()) * width + (day - events.day[first])
    keys.sort()
    leaders = keys[run_starts(keys // stride)]
    pairs: Int64s = leaders // stride % (n * n) * width + leaders % width
    return pairs


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
