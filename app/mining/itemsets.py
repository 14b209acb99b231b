"""Count frequent items, pairs and triples of a basket matrix, vectorised, with apriori pruning."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from app.mining.baskets import AnyMatrix, as_basket_matrix

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
Positions = NDArray[np.signedinteger[Any]]

# A triple of compact codes is packed into one int64 key: (a * n + b) * n + c < 2**63.
_MAX_KEYED_ITEMS = 2_097_151
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


@dataclass(frozen=True)
class _Baskets:
    """Baskets as CSR pieces over a compact item space; `codes` maps compact -> original."""

    indptr: Int64s
    indices: Int32s
    codes: Int32s


def item_counts(matrix: AnyMatrix) -> Int64s:
    """Number of baskets holding each item, indexed by item code."""
    baskets = as_basket_matrix(matrix)
    return np.bincount(baskets.indices, minlength=baskets.shape[1]).astype(np.int64)


def count_itemsets(matrix: AnyMatrix, min_count: int, max_size: int) -> ItemsetCounts:
    """Counts of every itemset of 2..max_size items held by at least `min_count` baskets."""
    csr = as_basket_matrix(matrix)
    counts = np.bincount(csr.indices, minlength=csr.shape[1]).astype(np.int64)
    # Apriori: an itemset is never more frequent than its items, so only frequent items
    # take part in pairs, and only items of frequent pairs take part in triples.
    whole = _Baskets(
        csr.indptr.astype(np.int64),
        csr.indices.astype(np.int32),
        np.arange(csr.shape[1], dtype=np.int32),
    )
    frequent = _restrict(whole, np.flatnonzero(counts >= min_count).astype(np.int32))
    pairs, pair_count = _count_pairs(frequent, min_count)
    triples, triple_count = np.empty((0, 3), dtype=np.int32), np.empty(0, dtype=np.int64)
    if max_size >= 3 and len(pairs):
        triples, triple_count = _count_triples(frequent, pairs, min_count)
    return ItemsetCounts(
        csr.shape[0],
        counts,
        frequent.codes[pairs],
        pair_count,
        frequent.codes[triples],
        triple_count,
    )


def _restrict(baskets: _Baskets, keep: Int32s) -> _Baskets:
    """Drop every item not in `keep` (compact codes, ascending) and renumber the rest."""
    compact = np.full(len(baskets.codes), -1, dtype=np.int32)
    compact[keep] = np.arange(len(keep), dtype=np.int32)
    mapped = compact[baskets.indices]
    kept = mapped >= 0
    kept_before = np.concatenate(([0], np.cumsum(kept, dtype=np.int64)))
    return _Baskets(kept_before[baskets.indptr], mapped[kept], baskets.codes[keep])


def _count_pairs(baskets: _Baskets, min_count: int) -> tuple[Int32s, Int64s]:
    first, second = _segment_pairs(baskets.indptr)
    n = len(baskets.codes)
    keys = baskets.indices[first].astype(np.int64) * n + baskets.indices[second]
    keys, counts = _count_keys(keys, min_count)
    return np.stack((keys // n, keys % n), axis=1).astype(np.int32), counts


def _count_triples(frequent: _Baskets, pairs: Int32s, min_count: int) -> tuple[Int32s, Int64s]:
    paired_items = np.unique(pairs)
    if len(paired_items) > _MAX_KEYED_ITEMS:
        raise ValueError(f"too many items in frequent pairs to key triples: {len(paired_items)}")
    baskets = _restrict(frequent, paired_items.astype(np.int32))
    n = len(paired_items)
    pair_keys = np.searchsorted(paired_items, pairs).astype(np.int64)
    pair_keys = np.sort(pair_keys[:, 0] * n + pair_keys[:, 1])
    # Frequent pair occurrences in basket order, grouped by their first position: two
    # occurrences sharing a first item a extend to a triple (a, b, c) when (b, c) is frequent.
    first, second = _segment_pairs(baskets.indptr)
    a, b = baskets.indices[first], baskets.indices[second]
    is_frequent = _membership(pair_keys, n * n)
    frequent_pair = is_frequent(a.astype(np.int64) * n + b)
    first, b = first[frequent_pair], b[frequent_pair]
    left, right = _segment_pairs(_group_bounds(first))
    a, b, c = baskets.indices[first[left]], b[left], b[right]
    closed = is_frequent(b.astype(np.int64) * n + c)
    keys = (a[closed].astype(np.int64) * n + b[closed]) * n + c[closed]
    keys, counts = _count_keys(keys, min_count)
    triples = np.stack((keys // (n * n), keys // n % n, keys % n), axis=1)
    return paired_items[triples].astype(np.int32), counts


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


def _count_keys(keys: Int64s, min_count: int) -> tuple[Int64s, Int64s]:
    """Distinct keys held at least `min_count` times, ascending, with their multiplicity."""
    # A plain sort plus run lengths beats np.unique(return_counts=True) several times over.
    keys = np.sort(keys)
    bounds = _group_bounds(keys)[:-1] if len(keys) else np.empty(0, dtype=np.int64)
    counts = np.diff(np.append(bounds, len(keys)))
    frequent = counts >= min_count
    return keys[bounds[frequent]], counts[frequent].astype(np.int64)


def _membership(sorted_keys: Int64s, key_space: int) -> Callable[[Int64s], NDArray[np.bool_]]:
    """Vectorised `query in sorted_keys` for keys within [0, key_space)."""
    if key_space <= DENSE_PAIR_CELLS:
        table = np.zeros(key_space, dtype=np.bool_)
        table[sorted_keys] = True

        def table_lookup(queries: Int64s) -> NDArray[np.bool_]:
            found: NDArray[np.bool_] = table[queries]
            return found

        return table_lookup

    def binary_search(queries: Int64s) -> NDArray[np.bool_]:
        at = np.minimum(np.searchsorted(sorted_keys, queries), len(sorted_keys) - 1)
        found: NDArray[np.bool_] = sorted_keys[at] == queries
        return found

    return binary_search
