"""Count, per (A, B, delay), the customers who bought B a few days after A (vectorised)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from app.mining.runs import run_starts
from app.mining.sequence_events import Events

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
# Candidate (customer, A, B) rows materialised at once; customers never straddle a chunk.
CHUNK_PAIRS = 500_000
# Candidates of the antecedents counted together: their keys are held and sorted at once.
RANGE_PAIRS = 16_000_000


@dataclass(frozen=True)
class DelayCounts:
    """Customers per (A, B, delay) for a range of antecedents A, sorted by A, B, delay."""

    antecedent: Int64s
    consequent: Int64s
    delay: Int64s
    customers: Int64s


def delay_counts(events: Events, window: int) -> Iterator[DelayCounts]:
    """The counts, one range of antecedents at a time (ascending, about RANGE_PAIRS
    candidates each), so only one range's keys are ever held. Each range's keys come out
    of one plain sort: far cheaper than merging partial tallies."""
    starts, lengths = _followers(events, window)
    n, width = events.n_items, window + 1
    stride = (int(events.day.max(initial=0) - events.day.min(initial=0)) + 1) * width
    max_customers = max(1, 2**62 // (max(n, 1) ** 2 * stride))
    customer_starts = run_starts(events.rank)
    per_item = np.bincount(events.item, weights=lengths, minlength=n).astype(np.int64)
    for low, high in _item_ranges(per_item, RANGE_PAIRS):
        inside = (events.item >= low) & (events.item < high)
        chosen = np.where(inside, lengths, 0).astype(np.int32)
        del inside
        keys = np.empty(int(per_item[low:high].sum()), np.int64)
        filled = 0
        for first, last in pairwise(_chunk_bounds(customer_starts, chosen, max_customers)):
            found = _first_follow_ups(events, starts, chosen, first, last, window, stride)
            keys[filled : filled + len(found)] = found
            filled += len(found)
        del chosen
        keys = keys[:filled]
        keys.sort()
        yield _counted(keys, n, width)


def _item_ranges(per_item: Int64s, size: int) -> list[tuple[int, int]]:
    """Ranges of items [low, high) with about `size` candidates each; an item is never split."""
    cuts = np.searchsorted(np.cumsum(per_item), np.arange(size, int(per_item.sum()), size))
    bounds = sorted({0, *(cuts + 1).tolist(), len(per_item)})
    return [(low, high) for low, high in pairwise(bounds) if low < high]


def _counted(keys: Int64s, n: int, width: int) -> DelayCounts:
    """Sorted keys (A * n + B) * width + delay, one per customer, as counted rows."""
    opens = run_starts(keys)
    customers = np.diff(np.append(opens, len(keys))).astype(np.int64)
    pair, delay = np.divmod(keys[opens], width)
    del keys, opens
    antecedent, consequent = np.divmod(pair, n)
    return DelayCounts(antecedent, consequent, delay, customers)


def _followers(events: Events, window: int) -> tuple[Int32s, Int32s]:
    """Per event, the first event in a strictly later order and how many fall in the window."""
    if len(events.at) == 0:
        return np.empty(0, np.int32), np.empty(0, np.int32)
    rank = events.rank.astype(np.int64)
    time_span = int(events.at.max() - events.at.min()) + 1
    time_key = rank * time_span + (events.at - events.at.min())
    starts = np.searchsorted(time_key, time_key, side="right")
    del time_key
    day_span = int(events.day.max() - events.day.min()) + window + 1
    day_key = rank * day_span + (events.day - events.day.min())
    del rank
    ends = np.searchsorted(day_key, day_key + window, side="right")
    del day_key
    # Both are held while every follow-up is tallied: int32 halves them.
    return starts.astype(np.int32), np.maximum(ends - starts, 0).astype(np.int32)


def _chunk_bounds(customer_starts: Int64s, lengths: Int32s, max_customers: int) -> list[int]:
    """Event index bounds of chunks: whole customers, about CHUNK_PAIRS candidates each."""
    if len(customer_starts) == 0:
        return [0]
    before = np.concatenate(([0], np.cumsum(lengths, dtype=np.int64)))[customer_starts]
    by_pairs = before // CHUNK_PAIRS
    by_customers = np.arange(len(customer_starts)) // max_customers
    opens = np.concatenate(
        ([True], (by_pairs[1:] != by_pairs[:-1]) | (by_customers[1:] != by_customers[:-1]))
    )
    bounds: list[int] = np.append(customer_starts[opens], len(lengths)).tolist()
    return bounds


def _first_follow_ups(
    events: Events,
    starts: Int32s,
    lengths: Int32s,
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
    before = np.cumsum(counts, dtype=np.int64) - counts
    offsets = np.arange(len(first), dtype=np.int64) - np.repeat(before, counts)
    later = np.repeat(starts[low:high].astype(np.int64), counts) + offsets
    a, b = events.item[first].astype(np.int64), events.item[later].astype(np.int64)
    distinct = a != b
    first, later, a, b = first[distinct], later[distinct], a[distinct], b[distinct]
    n, width = events.n_items, window + 1
    day = events.day[later].astype(np.int64)
    # Ranks relative to the chunk (and few enough customers per chunk) keep this in int64.
    who = ((events.rank[first].astype(np.int64) - int(events.rank[low])) * n + a) * n + b
    keys = who * stride + (day - int(events.day.min())) * width + (day - events.day[first])
    keys.sort()
    leaders = keys[run_starts(keys // stride)]
    pairs: Int64s = leaders // stride % (n * n) * width + leaders % width
    return pairs
