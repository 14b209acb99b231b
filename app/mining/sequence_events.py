"""Purchases prepared for sequence mining: one row per (order, item), customers with 2+ orders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.mining.runs import run_starts

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
SECONDS_PER_DAY = 86_400


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
class Events:
    """Population purchases, distinct per (order, item), sorted by customer, time, order, item."""

    # Per-event columns are int32 where they can be (all but epoch seconds): mining holds
    # them throughout, at its memory peak. Widen before packing them into keys.
    rank: Int32s  # dense customer number
    at: Int64s
    day: Int32s
    item: Int32s
    n_items: int
    n_customers: int
    holders: Int64s  # population customers holding each item
    by_item: Int32s  # the permutation that sorts by customer, item, time, order


def prepare(purchases: Purchases) -> Events:
    order, customer, at, item = _distinct_lines(purchases)
    population, rank = _population(customer, order)
    at, item = at[rank >= 0], item[rank >= 0]
    rank = rank[rank >= 0]
    n = purchases.n_items
    span = int(at.max() - at.min()) + 1 if len(at) else 1
    # Stable sorts keep (order, item) order among equal keys, so no lexsort is needed.
    by_time = np.argsort(rank * span + (at - at.min(initial=0)), kind="stable")
    rank, at, item = rank[by_time], at[by_time], item[by_time]
    by_item = np.argsort(rank * n + item, kind="stable")
    held = by_item[run_starts(rank[by_item] * n + item[by_item])]
    holders = np.bincount(item[held], minlength=n).astype(np.int64)
    day = np.floor_divide(at, SECONDS_PER_DAY).astype(np.int32)
    return Events(
        rank.astype(np.int32), at, day, item, n, population, holders, by_item.astype(np.int32)
    )


def _distinct_lines(purchases: Purchases) -> tuple[Int64s, Int64s, Int64s, Int32s]:
    """(order, customer, at, item) once per (order, item), sorted by order then item."""
    n = purchases.n_items
    keys, first = np.unique(_dense(purchases.order) * n + purchases.item, return_index=True)
    item = (keys % n).astype(np.int32)
    return keys // n, purchases.customer[first], purchases.at[first], item


def _population(customer: Int64s, order: Int64s) -> tuple[int, Int64s]:
    """How many customers have two or more orders, and each line's dense number among
    them (-1 for the others). Lines come sorted by order."""
    opens = run_starts(order)
    ids, orders_per = np.unique(customer[opens], return_counts=True)
    population = ids[orders_per >= 2]
    at = np.minimum(np.searchsorted(population, customer), max(len(population) - 1, 0))
    inside = population[at] == customer if len(population) else np.zeros(len(customer), bool)
    rank: Int64s = np.where(inside, at, -1).astype(np.int64)
    return len(population), rank


def _dense(values: Int64s) -> Int64s:
    """Values as small non-negative numbers, so order * n_items + item stays in int64."""
    if len(values) == 0 or (values.min() >= 0 and values.max() < 2**40):
        return values
    dense: Int64s = np.unique(values, return_inverse=True)[1].astype(np.int64).reshape(-1)
    return dense
