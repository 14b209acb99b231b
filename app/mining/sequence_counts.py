"""Count, per (A, B, delay), the customers who bought B a few days after A (vectorised)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.mining.runs import run_starts
from app.mining.sequence_events import Events

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
# Candidate (customer, A, B) rows materialised at once; customers never straddle a chunk.
CHUNK_PAIRS = 500_000
# Candidates of the antecedents counted together: their keys are held and sorted at once,
# while the next range's are filled, so two ranges' keys are held at a time.
RANGE_PAIRS = 8_000_000
# Events whose followers are searched at once (the temporaries of one slice).
SEARCH_SLICE = 1 << 22
# Chunks counted at once, one per core: numpy lets go of the GIL while it sorts and
# gathers, so threads share the chunks of a range. Each holds one chunk's temporaries.
MAX_WORKERS = 4


@dataclass(frozen=True)
class DelayCounts:
    """Customers per (A, B, delay) for a range of antecedents A, sorted by A, B, delay;
    only pairs (A, B) followed by at least `min_count` customers."""

    antecedent: Int64s
    consequent: Int64s
    delay: Int64s
    customers: Int64s


@dataclass(frozen=True)
class _Bits:
    """Bit widths of the fields packed into keys, and the day that day fields count from.
    Fields are packed by shifts, and read back by shifts and masks: an integer division
    costs twice a sort's pass over the same keys."""

    item: int
    delay: int
    day: int
    first_day: int  # found once: a chunk that scanned every event for it would cost O(events)

    @classmethod
    def of(cls, events: Events, window: int) -> _Bits:
        first = int(events.day.min()) if len(events.day) else 0
        days = int(events.day.max()) - first + 1 if len(events.day) else 1
        return cls(_bits(events.n_items), _bits(window + 1), _bits(days), first)

    @property
    def customers(self) -> int:
        """Customers per chunk whose keys still fit in an int64."""
        return 1 << max(0, 62 - 2 * self.item - self.day - self.delay)


def _bits(values: int) -> int:
    """Bits that hold 0 .. values - 1."""
    return max(values - 1, 0).bit_length()


def delay_counts(events: Events, window: int, min_count: int = 1) -> Iterator[DelayCounts]:
    """The counts, one range of antecedents at a time (ascending, about RANGE_PAIRS
    candidates each), so only one range's keys are ever held. Each range's keys come out
    of one plain sort: far cheaper than merging partial tallies."""
    starts, lengths = _followers(events, window)
    bits = _Bits.of(events, window)
    per_item = np.bincount(events.item, weights=lengths, minlength=events.n_items)
    per_item = per_item.astype(np.int64)
    ranges = _item_ranges(per_item, RANGE_PAIRS)
    seeds, number = _seeds(events.item, lengths, [high for _, high in ranges])
    workers = _workers()
    counted: Future[DelayCounts] | None = None
    with ThreadPoolExecutor(workers) as pool:
        for k, (low, high) in enumerate(ranges):
            chosen = seeds[number == k]

            def follow_ups(piece: tuple[int, int], chosen: Int32s = chosen) -> Int64s:
                return _first_follow_ups(events, starts, lengths, chosen[slice(*piece)], bits)

            keys = np.empty(int(per_item[low:high].sum()), np.int64)
            filled = 0
            chunks = pairwise(_chunk_bounds(events.rank[chosen], lengths[chosen], bits.customers))
            # In chunk order; which chunk a key came from does not matter once sorted.
            for found in _in_order(pool, follow_ups, chunks, workers):
                keys[filled : filled + len(found)] = found
                filled += len(found)
            del chosen, follow_ups
            if counted is not None:
                yield counted.result()
            # A range's keys are sorted and counted while the next range's chunks are.
            counted = pool.submit(_counted, keys[:filled], bits, min_count)
            del keys
        if counted is not None:
            yield counted.result()


def _seeds(items: Int32s, lengths: Int32s, highs: list[int]) -> tuple[Int32s, NDArray[Any]]:
    """The events with candidates, ascending, and the number of the range of antecedents
    each falls in: a range then reads its own events, never all of the shop's."""
    seeds = np.flatnonzero(lengths).astype(np.int32)
    number = np.searchsorted(np.asarray(highs, np.int64), items[seeds], side="right")
    return seeds, number.astype(np.int16 if len(highs) < 2**15 else np.int32)


def _in_order(
    pool: ThreadPoolExecutor,
    count: Callable[[tuple[int, int]], Int64s],
    chunks: Iterable[tuple[int, int]],
    ahead: int,
) -> Iterator[Int64s]:
    """`count` of every chunk, in order, with at most `ahead` chunks counted beyond the one
    being read: a slow chunk never lets the finished ones behind it pile up."""
    pending: deque[Future[Int64s]] = deque()
    for chunk in chunks:
        pending.append(pool.submit(count, chunk))
        if len(pending) > ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _workers() -> int:
    """The cores this process may run on, at most MAX_WORKERS."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_WORKERS, cores or 1))


def _item_ranges(per_item: Int64s, size: int) -> list[tuple[int, int]]:
    """Ranges of items [low, high) with about `size` candidates each; an item is never split."""
    cuts = np.searchsorted(np.cumsum(per_item), np.arange(size, int(per_item.sum()), size))
    bounds = sorted({0, *(cuts + 1).tolist(), len(per_item)})
    return [(low, high) for low, high in pairwise(bounds) if low < high]


def _counted(keys: Int64s, bits: _Bits, min_count: int) -> DelayCounts:
    """Keys (A, B, delay), one per following customer, sorted in place, as counted rows of
    the pairs with `min_count` customers or more: most pairs stop here, before any per-row
    work."""
    keys.sort(kind="stable")  # in (A, B) order per customer: timsort merges those runs
    pair_opens = run_starts(keys >> bits.delay)
    followers = np.diff(np.append(pair_opens, len(keys)))
    keys = keys[np.repeat(followers >= min_count, followers)]
    del pair_opens, followers
    opens = run_starts(keys)
    customers = np.diff(np.append(opens, len(keys)))
    distinct = keys[opens]  # (A, B, delay)
    del keys, opens
    pair = distinct >> bits.delay
    return DelayCounts(
        pair >> bits.item,
        pair & ((1 << bits.item) - 1),
        distinct & ((1 << bits.delay) - 1),
        customers,
    )


def _followers(events: Events, window: int) -> tuple[Int32s, Int32s]:
    """Per event, the first event in a strictly later order and how many fall in the window.
    One int64 key array serves both searches, built in place: the search runs early in
    mining, beside every event, so its temporaries count."""
    if len(events.at) == 0:
        return np.empty(0, np.int32), np.empty(0, np.int32)
    key = events.rank.astype(np.int64)
    key *= int(events.at.max() - events.at.min()) + 1
    key += events.at
    key -= int(events.at.min())
    starts = _searched(key, 0)
    first_day = int(events.day.min())
    key[:] = events.rank
    key *= int(events.day.max()) - first_day + window + 1
    key += events.day
    key -= first_day
    lengths = _searched(key, window)
    lengths -= starts
    np.maximum(lengths, 0, out=lengths)
    return starts, lengths


def _searched(key: Int64s, plus: int) -> Int32s:
    """Per position i of the sorted `key`, the first position whose key exceeds key[i] +
    plus; the queries go in slices, so no temporary is as long as the keys."""
    found = np.empty(len(key), np.int32)
    for low in range(0, len(key), SEARCH_SLICE):
        queries = key[low : low + SEARCH_SLICE] + plus
        found[low : low + SEARCH_SLICE] = np.searchsorted(key, queries, side="right")
    return found


def _chunk_bounds(rank: Int32s, lengths: Int32s, max_customers: int) -> list[int]:
    """Bounds of chunks of a range's events (sorted by customer): whole customers, about
    CHUNK_PAIRS candidates and fewer than `max_customers` customer numbers each."""
    if len(rank) == 0:
        return [0]
    opens = run_starts(rank)  # a customer's first event
    before = (np.cumsum(lengths, dtype=np.int64) - lengths)[opens]
    by_pairs = before // CHUNK_PAIRS
    by_customers = rank[opens].astype(np.int64) // max_customers
    cuts = np.concatenate(
        ([True], (by_pairs[1:] != by_pairs[:-1]) | (by_customers[1:] != by_customers[:-1]))
    )
    bounds: list[int] = np.append(opens[cuts], len(rank)).tolist()
    return bounds


def _first_follow_ups(
    events: Events, starts: Int32s, lengths: Int32s, chosen: Int32s, bits: _Bits
) -> Int64s:
    """Key (A, B, delay) packed, once per customer and A != B: their first day with a B
    after an A, at the shortest delay that day, for the `chosen` events (with candidates,
    ascending, of whole customers). One plain sort of packed keys finds it: sorting values
    is several times faster than any argsort."""
    counts = lengths[chosen]
    first_day = bits.first_day
    rank = events.rank[chosen].astype(np.int64) - int(events.rank[chosen[0]])
    item = events.item[chosen].astype(np.int64)
    day = events.day[chosen].astype(np.int64) - first_day
    # Candidate j of event e is followed by event starts[e] + (j - candidates before e).
    shift = starts[chosen].astype(np.int64) - (np.cumsum(counts, dtype=np.int64) - counts)
    del chosen
    later = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(shift, counts)
    del shift
    b = events.item[later].astype(np.int64)
    later_day = events.day[later].astype(np.int64) - first_day
    del later
    other = np.repeat(item, counts) != b  # A then A is a rebuy, not a sequence
    # (customer, A, B, day of B, delay) packed; customers relative to the chunk (and few
    # enough of them per chunk) keep it within an int64.
    since = bits.day + bits.delay
    keys = (np.repeat(((rank << bits.item) | item) << bits.item, counts) | b) << since
    del b
    keys += (later_day << bits.delay) + later_day - np.repeat(day, counts)
    del later_day
    keys = keys[other]
    del other
    keys.sort(kind="stable")  # customers in order already: timsort merges the runs
    leaders = keys[run_starts(keys >> since)]
    pair = (leaders >> since) & ((1 << (2 * bits.item)) - 1)
    found: Int64s = (pair << bits.delay) | (leaders & ((1 << bits.delay) - 1))
    return found
