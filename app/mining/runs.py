"""Helpers over runs of equal values in sorted arrays: starts, distinct values, quartiles."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
Floats = NDArray[np.float64]
QUARTILES = (0.25, 0.5, 0.75)


def run_opens(values: NDArray[np.int64] | Int32s) -> NDArray[np.bool_]:
    """True where a run of equal values in a sorted array starts: a byte per value, where
    the index array of `run_starts` takes eight per run."""
    opens = np.ones(len(values), np.bool_)
    np.not_equal(values[1:], values[:-1], out=opens[1:])
    return opens


def run_starts(values: NDArray[np.int64] | Int32s) -> Int64s:
    """Start index of every run of equal values in a sorted array."""
    starts: Int64s = np.flatnonzero(run_opens(values)).astype(np.int64, copy=False)
    return starts


def distinct(values: Int64s) -> Int64s:
    """Sorted distinct values. np.unique without return_* flags hashes, which is 50x slower
    than this plain sort on a few million int64 ids (numpy 2.3+)."""
    ordered = np.sort(values)
    found: Int64s = ordered[run_starts(ordered)]
    return found


def run_quantiles(
    values: Int64s | Int32s, weights: Int64s, starts: Int64s, groups: Int64s
) -> tuple[Floats, Floats, Floats]:
    """Quartiles of the selected runs of rows sorted by (run, value), each row `weight` times.

    Same as np.quantile with linear interpolation on the expanded sample, without expanding.
    """
    total = np.cumsum(weights)
    cumulative = np.concatenate(([0], total))
    ends = np.append(starts[1:], len(values))
    before = cumulative[starts[groups]]
    size = cumulative[ends[groups]] - before
    found = []
    for q in QUARTILES:
        position = (size - 1) * q
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, size - 1)
        low_value = values[np.searchsorted(total, before + low, side="right")]
        high_value = values[np.searchsorted(total, before + high, side="right")]
        found.append(low_value + (position - low) * (high_value - low_value))
    q1, median, q3 = (np.asarray(f, dtype=np.float64) for f in found)
    return q1, median, q3
