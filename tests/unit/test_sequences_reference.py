"""The vectorised next-sale section against plain Python readings of its definitions, on a
generated shop large enough for real rules, rebuy cycles and every chunk boundary."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from fractions import Fraction
from itertools import pairwise
from unittest import mock

import numpy as np
import pytest

from app.analytics.history import History, history_from_orders
from app.jobs.next_sale_section import recent_purchases
from app.mining import sequence_counts
from app.mining.sequences import SequenceParams, mine_follow_ups, prepare

DAY = 86_400
N_ITEMS = 40
# Every rebought item kept (no pace or share limit), so every interval gets checked.
PARAMS = SequenceParams(
    window_days=30,
    min_count=4,
    min_lift="1.05",
    top_n=None,
    min_repeaters=1,
    min_repeat_share=0,
    max_interval_spread=math.inf,
)
# order: (customer or None, epoch seconds, item codes)
Order = tuple[int | None, int, list[int]]


def generated_orders(seed: int) -> list[Order]:
    """Customers with 1-7 orders over half a year; item k is often followed by k + 1 within
    days and item 0 is often rebought, so there are rules and rebuys to get right."""
    rng = np.random.default_rng(seed)
    orders: list[Order] = []
    for customer in range(300):
        day = int(rng.integers(0, 60))
        for _ in range(int(rng.integers(1, 8))):
            items = {int(i) for i in rng.integers(1, N_ITEMS, int(rng.integers(1, 5)))}
            if rng.random() < 0.3:
                items.add(0)
            at = day * DAY + int(rng.integers(0, 3)) * 3600  # same-day and same-time orders
            orders.append((customer if rng.random() > 0.05 else None, at, sorted(items)))
            if rng.random() < 0.5:
                follow = (max(items) + 1) % N_ITEMS
                orders.append((customer, at + int(rng.integers(1, 5)) * DAY, [follow]))
            day += int(rng.integers(0, 20))
    return orders


def as_history(orders: list[Order]) -> History:
    return history_from_orders(
        [(c, at, [(f"S{i:03d}", 1.0) for i in items]) for c, at, items in orders],
        {c: f"cust-{c}" for c, _, _ in orders if c is not None and c % 3 == 0},
    )


def population(orders: list[Order]) -> dict[int, list[tuple[int, int, set[int]]]]:
    """Customers with two or more orders -> their orders as (seconds, day, items) by time."""
    by_customer: dict[int, list[tuple[int, int, set[int]]]] = defaultdict(list)
    for customer, at, items in orders:
        if customer is not None:
            by_customer[customer].append((at, at // DAY, set(items)))
    return {c: sorted(o, key=lambda x: x[0]) for c, o in by_customer.items() if len(o) >= 2}


def reference_sequences(orders: list[Order]) -> dict[tuple[int, int], tuple[float, ...]]:
    """(A, B) -> (count, holders A, holders B, q1, median, q3) of every rule that passes."""
    customers = population(orders)
    holders = [
        sum(any(i in items for _, _, items in o) for o in customers.values())
        for i in range(N_ITEMS)
    ]
    delays: dict[tuple[int, int], list[int]] = defaultdict(list)
    for history in customers.values():
        first: dict[tuple[int, int], tuple[int, int]] = {}  # (A, B) -> (day of B, delay)
        for at_a, day_a, items_a in history:
            for at_b, day_b, items_b in history:
                if at_b <= at_a or day_b - day_a > PARAMS.window_days:
                    continue
                for a in items_a:
                    for b in items_b - {a}:
                        seen = (day_b, day_b - day_a)
                        first[(a, b)] = min(first.get((a, b), seen), seen)
        for pair, (_, delay) in first.items():
            delays[pair].append(delay)
    n = len(customers)
    passing: dict[tuple[int, int], tuple[float, ...]] = {}
    for (a, b), found in delays.items():
        count = len(found)
        confidence = Fraction(count, holders[a])
        lift = confidence / Fraction(holders[b], n)
        if (
            count >= PARAMS.min_count
            and confidence >= Fraction(str(PARAMS.min_confidence))
            and lift >= Fraction(str(PARAMS.min_lift))
        ):
            q1, median, q3 = np.quantile(found, [0.25, 0.5, 0.75]).tolist()
            passing[(a, b)] = (count, holders[a], holders[b], q1, median, q3)
    return passing


def reference_rebuys(orders: list[Order]) -> dict[int, tuple[int, int, float, float, float]]:
    """Item -> (repeating customers, intervals, q1, median, q3) for every rebought item."""
    gaps: dict[int, list[int]] = defaultdict(list)
    repeaters: dict[int, int] = defaultdict(int)
    for history in population(orders).values():
        for item in range(N_ITEMS):
            times = sorted({(at, day) for at, day, items in history if item in items})
            found = [later[1] - earlier[1] for earlier, later in pairwise(times)]
            gaps[item] += found
            repeaters[item] += bool(found)
    return {
        i: (repeaters[i], len(g), *np.quantile(g, [0.25, 0.5, 0.75]).tolist())
        for i, g in gaps.items()
        if g
    }


def reference_recent(orders: list[Order], names: dict[int, str]) -> list[list[tuple[str, str]]]:
    """Per customer by id: their 8 most recently bought SKUs, newest first, then by SKU."""
    last: dict[int, dict[str, int]] = defaultdict(dict)
    for customer, at, items in orders:
        if customer is not None:
            for item in items:
                sku = f"S{item:03d}"
                last[customer][sku] = max(last[customer].get(sku, at // DAY), at // DAY)
    epoch = date(1970, 1, 1).toordinal()
    found = []
    for customer in sorted(last):
        newest = sorted(last[customer].items(), key=lambda kv: (-kv[1], kv[0]))[:8]
        found.append([(sku, date.fromordinal(epoch + day).isoformat()) for sku, day in newest])
    return found


@pytest.mark.parametrize(
    ("chunk_pairs", "range_pairs", "chunk_customers"),
    # Chunks cut by candidates, by antecedent range, and by customers (keys that would
    # not fit an int64 with more customers in one chunk).
    [(7, 50, None), (500_000, 16_000_000, None), (500_000, 16_000_000, 4)],
)
@pytest.mark.parametrize("seed", [1, 2])
def test_follow_ups_and_rebuys_match_a_plain_reading_of_the_definitions(
    seed: int, chunk_pairs: int, range_pairs: int, chunk_customers: int | None
) -> None:
    orders = generated_orders(seed)
    customers = sequence_counts._Bits.customers
    with (
        mock.patch.object(sequence_counts, "CHUNK_PAIRS", chunk_pairs),
        mock.patch.object(sequence_counts, "RANGE_PAIRS", range_pairs),
        mock.patch.object(
            sequence_counts._Bits,
            "customers",
            customers if chunk_customers is None else property(lambda _: chunk_customers),
        ),
    ):
        table, refills = mine_follow_ups(as_history(orders).purchases(), PARAMS)
    found = {
        (int(a), int(b)): (int(c), int(ha), int(hb), q1, median, q3)
        for a, b, c, ha, hb, q1, median, q3 in zip(
            table.antecedent.tolist(),
            table.consequent.tolist(),
            table.count.tolist(),
            table.antecedent_count.tolist(),
            table.consequent_count.tolist(),
            table.delays.q1.tolist(),
            table.delays.median.tolist(),
            table.delays.q3.tolist(),
            strict=True,
        )
    }
    expected = reference_sequences(orders)
    assert len(expected) > 10  # the data has rules to get right
    assert found == expected
    found_rebuys = {
        int(item): (int(r), int(n), q1, median, q3)
        for item, r, n, q1, median, q3 in zip(
            refills.item.tolist(),
            refills.repeaters.tolist(),
            refills.intervals.tolist(),
            refills.delays.q1.tolist(),
            refills.delays.median.tolist(),
            refills.delays.q3.tolist(),
            strict=True,
        )
    }
    assert found_rebuys == reference_rebuys(orders)


@pytest.mark.parametrize("seed", [1, 2])
def test_recent_purchases_match_a_plain_reading(seed: int) -> None:
    orders = generated_orders(seed)
    history = as_history(orders)
    recent = recent_purchases(history, 8)
    ids = sorted({c for c, _, _ in orders if c is not None})
    assert recent.names == [history.name_of(c) for c in ids]
    bought = [
        list(zip(recent.skus[low:high], recent.dates[low:high], strict=True))
        for low, high in pairwise(recent.bounds)
    ]
    assert bought == reference_recent(orders, dict(history.customer_names))


def reference_events(
    orders: list[Order], skus: tuple[str, ...]
) -> tuple[list[tuple[int, int, int, int]], list[int], list[int]]:
    """Events as the definition reads: (rank, seconds, order number, item) once per item of
    each order of a customer with two or more orders (orders with lines), sorted; holders
    per item; the stable order of the events by (rank, item)."""
    code = {sku: k for k, sku in enumerate(skus)}
    placed: dict[int, int] = defaultdict(int)
    for customer, _, items in orders:
        if customer is not None and items:
            placed[customer] += 1
    rank = {c: r for r, c in enumerate(sorted(c for c, n in placed.items() if n >= 2))}
    rows = sorted(
        (rank[customer], at, number, code[f"S{i:03d}"])
        for number, (customer, at, items) in enumerate(orders)
        if customer in rank
        for i in set(items)
    )
    holders = [len({r for r, _, _, item in rows if item == k}) for k in range(len(skus))]
    by_item = sorted(range(len(rows)), key=lambda e: (rows[e][0], rows[e][3]))
    return rows, holders, by_item


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_events_match_a_plain_reading_whether_from_orders_or_purchases(seed: int) -> None:
    orders = generated_orders(seed)
    # Orders without lines are no purchases: a second order of a one-order customer's
    # would put them in the population if it counted.
    placed = [customer for customer, _, _ in orders]
    once = next(c for c in placed if c is not None and placed.count(c) == 1)
    orders += [(once, 5 * DAY, []), (None, 6 * DAY, [])]
    history = as_history(orders)
    rows, holders, by_item = reference_events(orders, history.skus)
    for events in (history.events(), prepare(history.purchases())):
        assert events.rank.dtype == events.day.dtype == events.item.dtype == np.int32
        assert events.by_item.dtype == np.int32
        assert list(zip(events.rank.tolist(), events.at.tolist(), strict=True)) == [
            (r, at) for r, at, _, _ in rows
        ]
        assert events.item.tolist() == [item for _, _, _, item in rows]
        assert events.day.tolist() == [at // DAY for _, at, _, _ in rows]
        assert events.holders.tolist() == holders
        assert events.by_item.tolist() == by_item
        assert events.n_customers == len({r for r, _, _, _ in rows}) > 0
        assert events.n_items == len(history.skus)
