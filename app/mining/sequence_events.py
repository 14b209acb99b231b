"""Purchases prepared for sequence mining: one row per (order, item), customers with 2+ orders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.mining.runs import run_opens

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Purchases:
    """One row per order line: customer, order, epoch seconds of the order, item code.

    Customer and time belong to the order: every line of one order carries the same ones.
    """

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
    """Events of the population, from one sort of the orders and one plain sort of the lines.

    Orders are put in (customer, time, order) order first, so each line's key is just its
    order's position and its item: a plain sort of those packed integers both orders the
    events and brings repeats of an (order, item) together, where an argsort of the lines
    (several times slower) would be needed otherwise.
    """
    order = _dense(purchases.order)
    orders, customer, at = _orders(order, purchases.customer, purchases.at)
    return prepare_orders(orders, customer, at, order, purchases.item, purchases.n_items)


def prepare_orders(
    orders: Int64s,
    customer: Int64s,
    at: Int64s,
    line_order: Int64s,
    line_item: Int32s,
    n_items: int,
) -> Events:
    """`prepare` from the orders themselves: `orders` ascending with their customer and
    time, then every line's order and item. Lines of orders not in `orders` are left out;
    every order in `orders` must have a line (an order without one would count toward the
    customer's orders, so toward the population of customers with two or more).

    Customer and time per order rather than per line spare 16 bytes a line; so do the
    in-place steps below: this runs at the memory peak of a rebuild.
    """
    n = n_items
    population, rank = _population(customer)
    inside = rank >= 0
    orders, rank, at = orders[inside], rank[inside], at[inside]
    span = int(at.max() - at.min()) + 1 if len(at) else 1
    # Stable: orders of one customer at one time stay in order-number order.
    by_time = np.argsort(rank * span + (at - at.min(initial=0)), kind="stable")
    orders, at = orders[by_time], at[by_time]
    order_rank = rank[by_time].astype(np.int32)
    del rank
    position = np.full(int(line_order.max(initial=-1)) + 1, -1, np.int64)
    position[orders] = np.arange(len(orders))
    keys = position[line_order]
    del position
    kept = keys >= 0
    keys = keys[kept]
    keys *= n
    keys += line_item[kept]
    del kept
    # Timsort (kind="stable") finds the runs the keys come in: ~2x the default sort here.
    keys.sort(kind="stable")
    keys = keys[run_opens(keys)]  # once per (order, item)
    where = keys // n
    np.remainder(keys, n, out=keys)
    item = keys.astype(np.int32)
    del keys
    event_rank, at = order_rank[where], at[where]
    del where, order_rank
    packed = event_rank.astype(np.int64)
    packed *= n
    packed += item
    by_item = np.argsort(packed, kind="stable")
    # Sorted in place, not gathered through by_item: the same values without a copy.
    packed.sort(kind="stable")  # nearly sorted already: timsort takes a seventh of the time
    held = packed[run_opens(packed)]  # (customer, item) once per holder
    del packed
    np.remainder(held, n, out=held)
    holders = np.bincount(held, minlength=n).astype(np.int64)
    del held
    day = np.floor_divide(at, SECONDS_PER_DAY).astype(np.int32)
    return Events(event_rank, at, day, item, n, population, holders, by_item.astype(np.int32))


def _orders(order: Int64s, customer: Int64s, at: Int64s) -> tuple[Int64s, Int64s, Int64s]:
    """The distinct orders ascending, with their customer and time (every line of an order
    carries the same ones): written through a table indexed by order, no sort needed."""
    size = int(order.max(initial=-1)) + 1
    present = np.zeros(size, np.bool_)
    present[order] = True
    customer_of, at_of = np.zeros(size, np.int64), np.zeros(size, np.int64)
    customer_of[order], at_of[order] = customer, at
    orders = np.flatnonzero(present).astype(np.int64)
    return orders, customer_of[orders], at_of[orders]


def _population(customer: Int64s) -> tuple[int, Int64s]:
    """How many customers have two or more orders, and each order's dense customer number
    among them (-1 for the others). One entry per order."""
    _, inverse, orders_per = np.unique(customer, return_inverse=True, return_counts=True)
    repeat = orders_per >= 2
    number = np.cumsum(repeat) - 1
    inverse = inverse.reshape(-1)
    rank: Int64s = np.where(repeat[inverse], number[inverse], -1).astype(np.int64)
    return int(repeat.sum()), rank


def _dense(values: Int64s) -> Int64s:
    """Values as small non-negative numbers, so a table indexed by them stays small."""
    if len(values) == 0 or (values.min() >= 0 and values.max() < max(4 * len(values), 1024)):
        return values
    dense: Int64s = np.unique(values, return_inverse=True)[1].astype(np.int64).reshape(-1)
    return dense
