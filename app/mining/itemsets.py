"""Count frequent items, pairs and triples of a basket matrix, vectorised, with apriori pruning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from app.mining.baskets import AnyMatrix, BasketMatrix, as_basket_matrix

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
Positions = NDArray[np.signedinteger[Any]]

# Pair membership is a dense n x n boolean table up to this many cells (128 MiB): a gather
# there is 20-50x faster than a binary search over the sorted pair keys used beyond it.
DENSE_PAIR_CELLS = 2**27


@dataclass(frozen=True)
class ItemsetCounts:
    """Baskets per frequent itemset; itemsets are ascending item codes, rows sorted."""

    n_baskets: int
    item_count: Int64s  # every item, indexed by code
    pairs: Int32s  # shape (n, 2)
    pair_count: Int64s
    triples: Int32s  # shape (m, 3)
    triple_count: Int64s

    def pair_counts_of(self, first: Int32s, second: Int32s) -> Int64s:
        """Counts of the given pairs (first < second), which must all be frequent."""
        n_items = len(self.item_count)
        keys = self.pairs[:, 0].astype(np.int64) * n_items + self.pairs[:, 1]
        wanted = first.astype(np.int64) * n_items + second
        return self.pair_count[np.searchsorted(keys, wanted)]


def item_counts(matrix: AnyMatrix) -> Int64s:
    """Number of baskets holding each item, indexed by item code."""
    baskets = as_basket_matrix(matrix)
    return np.bincount(baskets.indices, minlength=baskets.shape[1]).astype(np.int64)


def count_itemsets(matrix: AnyMatrix, min_count: int, max_size: int) -> ItemsetCounts:
    """Counts of every itemset of 2..max_size items held by at least `min_count` baskets."""
    csr = as_basket_matrix(matrix)
    counts = np.bincount(csr.indices, minlength=csr.shape[1]).astype(np.int64)
    # Apriori: an itemset is never more frequent than its items, so only frequent items
    # take part in pairs, and a triple needs all three of its pairs frequent.
    codes = np.flatnonzero(counts >= min_count).astype(np.int32)
    occurrences = _pair_occurrences(csr, codes)
    n = len(codes)
    pairs, pair_count = _count_keys(_pack((occurrences.a, occurrences.b), n), n, 2, min_count)
    triples, triple_count = np.empty((0, 3), dtype=np.int32), np.empty(0, dtype=np.int64)
    if max_size >= 3 and len(pairs):
        triples, triple_count = _count_triples(occurrences, pairs, n, min_count)
    return ItemsetCounts(
        csr.shape[0], counts, codes[pairs], pair_count, codes[triples], triple_count
    )


@dataclass(frozen=True)
class _Occurrences:
    """Every pair a < b of frequent items inside one basket, in basket order.

    Items are renumbered 0..n-1 over the frequent items; `first` is the position of a in
    the basket list, which groups the pairs that share their first item occurrence.
    """

    first: Positions
    a: Int32s
    b: Int32s


def _pair_occurrences(baskets: BasketMatrix, codes: Int32s) -> _Occurrences:
    compact = np.full(baskets.shape[1], -1, dtype=np.int32)
    compact[codes] = np.arange(len(codes), dtype=np.int32)
    mapped = compact[baskets.indices]
    kept = mapped >= 0
    kept_before = np.concatenate(([0], np.cumsum(kept, dtype=np.int64)))
    items = mapped[kept]
    first, second = _segment_pairs(kept_before[baskets.indptr])
    return _Occurrences(first, items[first], items[second])


def _count_triples(
    occurrences: _Occurrences, pairs: Int32s, n: int, min_count: int
) -> tuple[Int32s, Int64s]:
    slots = _PairSlots(pairs, n)
    # Two frequent pairs (a, b) and (a, c) sharing the occurrence of a extend to the triple
    # (a, b, c) when (b, c) is frequent too; nothing else can reach min_count.
    kept = np.flatnonzero(slots.contains(slots.of(occurrences.a), slots.of(occurrences.b)))
    a, b = slots.of(occurrences.a[kept]), slots.of(occurrences.b[kept])
    left, right = _segment_pairs(_group_bounds(occurrences.first[kept]))
    ab, b, c = _pack((a, b), slots.width)[left], b[left], b[right]
    closed = np.flatnonzero(slots.contains(b, c))
    keys = ab[closed].astype(np.int64) * slots.width + c[closed]
    triples, counts = _count_keys(keys, slots.width, 3, min_count)
    return slots.items[triples], counts


def _segment_pairs(bounds: Int64s) -> tuple[Positions, Positions]:
    """Every position pair (i, j), i < j, inside each segment [bounds[k], bounds[k+1]).

    Output is ordered by i, then j. Built with np.repeat, so the cost is one pass over the
    output and there is no Python loop per segment.
    """
    total_positions = int(bounds[-1])
    lengths = np.diff(bounds)
    after = np.repeat(bounds[1:], lengths) - np.arange(1, total_positions + 1)
    n_pairs = int(after.sum())
    # int32 positions halve memory traffic; np.repeat is several times faster on them.
    dtype = np.int32 if max(n_pairs, total_positions) < 2**31 else np.int64
    after = after.astype(dtype)
    first = np.repeat(np.arange(total_positions, dtype=dtype), after)
    run_start = np.cumsum(after, dtype=np.int64) - after
    shift = (run_start - np.arange(total_positions) - 1).astype(dtype)
    second = np.arange(n_pairs, dtype=dtype) - np.repeat(shift, after)
    return cast(Positions, first), cast(Positions, second)


def _group_bounds(sorted_values: Positions) -> Int64s:
    """Segment bounds of the runs of equal values in a sorted array."""
    changes = np.flatnonzero(sorted_values[1:] != sorted_values[:-1]) + 1
    return np.concatenate(([0], changes, [len(sorted_values)])).astype(np.int64)


def _count_keys(keys: Positions, n: int, width: int, min_count: int) -> tuple[Int32s, Int64s]:
    """Itemsets whose packed key occurs at least `min_count` times, ascending, with counts."""
    # A plain sort plus run lengths beats np.unique(return_counts=True) several times over.
    keys = np.sort(keys)
    bounds = _group_bounds(keys)[:-1] if len(keys) else np.empty(0, dtype=np.int64)
    counts = np.diff(np.append(bounds, len(keys)))
    frequent = counts >= min_count
    return _unpack(keys[bounds[frequent]], n, width), counts[frequent].astype(np.int64)


def _pack(columns: tuple[Int32s, ...], n: int) -> Positions:
    """One integer key per row of item codes < n; int32 when it fits, as it sorts 2x faster."""
    if n ** len(columns) > 2**63:
        raise ValueError(f"too many frequent items to key {len(columns)}-itemsets: {n}")
    dtype = np.int32 if n ** len(columns) <= 2**31 else np.int64
    keys: Positions = columns[0].astype(dtype)
    for column in columns[1:]:
        keys = keys * n + column
    return keys


def _unpack(keys: Positions, n: int, width: int) -> Int32s:
    columns = []
    for _ in range(width):
        columns.append(keys % n)
        keys = keys // n
    return np.stack(columns[::-1], axis=1).astype(np.int32).reshape(-1, width)


class _PairSlots:
    """Membership test for frequent pairs over `slots`: the items of frequent pairs, 0..m-1.

    Every other item maps to slot m, which pairs with nothing. Renumbering keeps the lookup
    table small; a dense table gather is 20-50x faster than a binary search, which is the
    fallback when the table would exceed DENSE_PAIR_CELLS.
    """

    def __init__(self, pairs: Int32s, n: int) -> None:
        self.items: Int32s = np.unique(pairs).astype(np.int32)
        self.width = len(self.items) + 1
        self._slot = np.full(n, len(self.items), dtype=np.int32)
        self._slot[self.items] = np.arange(len(self.items), dtype=np.int32)
        keys = _pack((self.of(pairs[:, 0]), self.of(pairs[:, 1])), self.width)
        self._dense = self.width * self.width <= DENSE_PAIR_CELLS
        if self._dense:
            self._table = np.zeros(self.width * self.width, dtype=np.bool_)
            self._table[keys] = True
        else:
            self._sorted_keys = np.sort(keys)

    def of(self, items: Int32s) -> Int32s:
        slots: Int32s = self._slot[items]
        return slots

    def contains(self, a: Int32s, b: Int32s) -> NDArray[np.bool_]:
        """Whether each slot pair (a, b), a < b, is a frequent pair."""
        queries = _pack((a, b), self.width)
        if self._dense:
            found: NDArray[np.bool_] = self._table[queries]
            return found
        at = np.searchsorted(self._sorted_keys, queries)
        at = np.minimum(at, len(self._sorted_keys) - 1)
        found = self._sorted_keys[at] == queries
        return found
