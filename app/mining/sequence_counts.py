"""Count, per (A, B, delay), the customers who bought B a few days after A (vectorised)."""

from __future__ import annotations

from itertools import pairwise
from typing import cast

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from app.mining.runs import run_starts
from app.mining.sequence_events import Events

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
Tally = sp.csr_array[np.int32, tuple[int, int]]
# Candidate (customer, A, B) rows materialised at once; customers never straddle a chunk.
CHUNK_PAIRS = 500_000
# First follow-ups buffered before they are added to the sparse tally.
TALLY_ROWS = 2_000_000


def delay_histogram(events: Events, window: int) -> Tally:
    """Customers per (A, B, delay): row A, column B * (window + 1) + delay."""
    starts, lengths = _followers(events, window)
    n, width = events.n_items, window + 1
    stride = (int(events.day.max(initial=0) - events.day.min(initial=0)) + 1) * width
    bounds = _chunk_bounds(events.rank, lengths, max(1, 2**62 // (max(n, 1) ** 2 * stride)))
    tally = _Tally(n, n * width)
    for low, high in pairwise(bounds.tolist()):
        tally.add(_first_follow_ups(events, starts, lengths, low, high, window, stride))
    return tally.total()


class _Tally:
    """Customers per (A, B, delay) key, held as a sparse row per A.

    Keys are buffered, then sorted (a plain sort of packed integers is fast) and counted
    into a sparse batch. Batches are added like a binary counter: a batch joins the one
    below it on the stack only once it is about as large, so every count is merged about
    log(batches) times rather than once per batch (a sparse addition is a linear merge).
    """

    def __init__(self, rows: int, columns: int) -> None:
        self._shape = (rows, columns)
        self._stack: list[Tally] = []
        self._parts: list[Int64s] = []
        self._pending = 0

    def add(self, keys: Int64s) -> None:
        """Keys are row * columns + column."""
        self._parts.append(keys)
        self._pending += len(keys)
        if self._pending >= TALLY_ROWS:
            self._flush()

    def total(self) -> Tally:
        self._flush()
        total = cast(Tally, sp.csr_array(self._shape, dtype=np.int32))
        while self._stack:
            total = total + self._stack.pop()
        return total

    def _flush(self) -> None:
        if not self._parts:
            return
        keys = np.sort(np.concatenate(self._parts))
        self._parts, self._pending = [], 0
        starts = run_starts(keys)
        counts = np.diff(np.append(starts, len(keys))).astype(np.int32)
        rows, columns = np.divmod(keys[starts], self._shape[1])
        indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=self._shape[0]))))
        batch = sp.csr_array((counts, columns, indptr), shape=self._shape)
        batch.has_canonical_format = True  # sorted, distinct: scipy need not check again
        while self._stack and self._stack[-1].nnz <= 2 * batch.nnz:
            batch = cast(Tally, self._stack.pop() + batch)
        self._stack.append(cast(Tally, batch))


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


def _chunk_bounds(rank: Int32s, lengths: Int32s, max_customers: int) -> Int64s:
    """Event index bounds of chunks: whole customers, about CHUNK_PAIRS candidates each."""
    customer_starts = run_starts(rank)
    if len(customer_starts) == 0:
        return np.zeros(1, np.int64)
    before = np.concatenate(([0], np.cumsum(lengths, dtype=np.int64)))[customer_starts]
    by_pairs = before // CHUNK_PAIRS
    by_customers = np.arange(len(customer_starts)) // max_customers
    opens = np.concatenate(
        ([True], (by_pairs[1:] != by_pairs[:-1]) | (by_customers[1:] != by_customers[:-1]))
    )
    return np.append(customer_starts[opens], len(rank))


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
