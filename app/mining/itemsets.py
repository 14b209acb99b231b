"""Count frequent items, pairs and triples of a basket matrix, vectorised, with apriori pruning."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from app.mining.baskets import AnyMatrix, BasketMatrix, as_basket_matrix

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
Positions = NDArray[np.signedinteger[Any]]
PairChunk = tuple[Int32s, Int32s, Positions]  # items a < b of one basket, position of a

# Pairs generated per chunk of baskets; 1M int32 values are 4 MiB, cache-sized.
_CHUNK_PAIRS = 2**20
# Pair membership is a bit table up to this many cells (128 MiB): a gather there is 20-50x
# faster than a binary search over the sorted pair keys used beyond it.
DENSE_PAIR_CELLS = 2**30


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
    baskets = _frequent_baskets(csr, codes)
    pairs, pair_count = _count_pairs(
        baskets.pair_chunks(), baskets.pair_total(), len(codes), min_count
    )
    triples, triple_count = np.empty((0, 3), dtype=np.int32), np.empty(0, dtype=np.int64)
    if max_size >= 3 and len(pairs):
        # The pair occurrences are generated again rather than kept from the pass above:
        # kept, they cost 12 bytes each (~1 GB at 10M orders) at the peak of the job.
        triples, triple_count = _count_triples(baskets.pair_chunks(), pairs, len(codes), min_count)
    return ItemsetCounts(
        csr.shape[0], counts, codes[pairs], pair_count, codes[triples], triple_count
    )


@dataclass(frozen=True)
class _Baskets:
    """Baskets as CSR pieces: basket k holds items[bounds[k]:bounds[k + 1]]."""

    bounds: Int64s
    items: Int32s

    def pair_chunks(self) -> Iterator[PairChunk]:
        """(a, b, position of a) for every pair a < b inside a basket, in basket order.

        Pairs come in chunks of about _CHUNK_PAIRS, so every temporary stays cache-sized
        and memory is reused instead of page-faulted in: counting gets 1.5-2x faster.
        """
        lengths = np.diff(self.bounds)
        cumulative = np.cumsum(lengths * (lengths - 1) // 2)
        total = int(cumulative[-1]) if len(cumulative) else 0
        cuts = np.searchsorted(cumulative, np.arange(_CHUNK_PAIRS, total, _CHUNK_PAIRS))
        rows = np.unique(np.concatenate(([0], cuts, [len(lengths)])))
        for start, stop in zip(rows[:-1].tolist(), rows[1:].tolist(), strict=True):
            offset = int(self.bounds[start])
            first, second = _segment_pairs(self.bounds[start : stop + 1] - offset)
            chunk = self.items[offset : self.bounds[stop]]
            yield chunk[first], chunk[second], first

    def pair_total(self) -> int:
        lengths = np.diff(self.bounds)
        return int(np.sum(lengths * (lengths - 1) // 2))


def _frequent_baskets(baskets: BasketMatrix, codes: Int32s) -> _Baskets:
    """The baskets restricted to the items `codes`, renumbered 0..len(codes)-1."""
    compact = np.full(baskets.shape[1], -1, dtype=np.int32)
    compact[codes] = np.arange(len(codes), dtype=np.int32)
    mapped = compact[baskets.indices]
    kept = mapped >= 0
    kept_before = np.concatenate(([0], np.cumsum(kept, dtype=np.int64)))
    return _Baskets(kept_before[baskets.indptr], mapped[kept])


def _count_pairs(
    chunks: Iterator[PairChunk], total: int, n: int, min_count: int
) -> tuple[Int32s, Int64s]:
    """Frequent pairs and their counts."""
    keys = np.empty(total, dtype=_key_dtype(n, 2))
    filled = 0
    for a, b, _ in chunks:
        chunk = keys[filled : filled + len(a)]
        # dtype= makes numpy multiply in the key type: an int32 product would overflow.
        np.multiply(a, n, out=chunk, dtype=chunk.dtype, casting="unsafe")
        chunk += b
        filled += len(a)
    return _count_keys(keys, n, 2, min_count)


def _count_triples(
    chunks: Iterator[PairChunk], pairs: Int32s, n: int, min_count: int
) -> tuple[Int32s, Int64s]:
    slots = _PairSlots(pairs, n)
    parts = []
    for items_a, items_b, first in chunks:
        # Two frequent pairs (a, b) and (a, c) sharing the occurrence of a extend to the
        # triple (a, b, c) when (b, c) is frequent too; nothing else can reach min_count.
        a, b = slots.of(items_a), slots.of(items_b)
        kept = np.flatnonzero(slots.contains(a, b))
        a, b = a[kept], b[kept]
        left, right = _segment_pairs(_group_bounds(first[kept]))
        ab, b, c = _pack((a, b), slots.width)[left], b[left], b[right]
        closed = np.flatnonzero(slots.contains(b, c))
        keys: Positions = ab[closed].astype(_key_dtype(slots.width, 3))
        keys *= slots.width
        keys += c[closed]
        parts.append(keys)
    triples, counts = _count_keys(np.concatenate(parts), slots.width, 3, min_count)
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
    # An in-place sort beats np.unique(return_counts=True) several times over. Most keys are
    # rare, so rather than measuring every run, look only where a key equals the key
    # min_count - 1 places on: such a position lies in a run long enough to keep.
    keys.sort()
    span = min(min_count - 1, len(keys))  # fewer keys than min_count: nothing qualifies
    long_enough = np.flatnonzero(keys[span:] == keys[: len(keys) - span])
    starts = long_enough[(long_enough == 0) | (keys[long_enough - 1] != keys[long_enough])]
    frequent = keys[starts]
    counts = np.searchsorted(keys, frequent, side="right") - starts
    return _unpack(frequent, n, width), counts.astype(np.int64)


def _key_dtype(n: int, width: int) -> type[np.int32] | type[np.int64]:
    """int32 keys when they fit, as they sort twice as fast as int64."""
    if n**width > 2**63:
        raise ValueError(f"too many frequent items to key {width}-itemsets: {n}")
    return np.int32 if n**width <= 2**31 else np.int64


def _pack(columns: tuple[Int32s, ...], n: int) -> Positions:
    """One integer key per row of item codes < n."""
    keys: Positions = columns[0].astype(_key_dtype(n, len(columns)))
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
    """Membership test for frequent pairs, over slots: item numbers that keep it compact.

    Slots are the item codes themselves while one bit per code pair fits DENSE_PAIR_CELLS,
    which spares a renumbering pass. Otherwise the items of frequent pairs get slots
    0..m-1 and every other item slot m, which pairs with nothing. The bit table is a few
    MiB, so lookups hit the cache; a binary search over the sorted pair keys is the
    fallback when even the renumbered table would be too big.
    """

    def __init__(self, pairs: Int32s, n: int) -> None:
        self._slot: Int32s | None = None
        self.items: Int32s = np.arange(n, dtype=np.int32)
        self.width = n
        if n * n > DENSE_PAIR_CELLS:
            self.items = np.unique(pairs).astype(np.int32)
            self.width = len(self.items) + 1
            self._slot = np.full(n, len(self.items), dtype=np.int32)
            self._slot[self.items] = np.arange(len(self.items), dtype=np.int32)
        keys = _pack((self.of(pairs[:, 0]), self.of(pairs[:, 1])), self.width)
        self._dense = self.width * self.width <= DENSE_PAIR_CELLS
        if self._dense:
            self._bits = np.zeros((self.width * self.width + 7) // 8, dtype=np.uint8)
            np.bitwise_or.at(self._bits, keys >> 3, np.left_shift(1, keys & 7).astype(np.uint8))
        else:
            self._sorted_keys = np.sort(keys)

    def of(self, items: Int32s) -> Int32s:
        if self._slot is None:
            return items
        slots: Int32s = self._slot[items]
        return slots

    def contains(self, a: Int32s, b: Int32s) -> NDArray[np.bool_]:
        """Whether each slot pair (a, b), a < b, is a frequent pair."""
        queries = _pack((a, b), self.width)
        if self._dense:
            byte = self._bits[queries >> 3]
            byte >>= (queries & 7).astype(np.uint8)
            byte &= 1
            found: NDArray[np.bool_] = byte.view(np.bool_)
            return found
        at = np.searchsorted(self._sorted_keys, queries)
        at = np.minimum(at, len(self._sorted_keys) - 1)
        found = self._sorted_keys[at] == queries
        return found
