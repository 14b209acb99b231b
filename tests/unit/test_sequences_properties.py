"""Sequential rules and rebuy intervals against a brute-force reading of the definitions."""

from __future__ import annotations

import math
from collections import defaultdict
from fractions import Fraction
from itertools import pairwise
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.mining import sequence_counts
from app.mining.sequences import Purchases, SequenceParams, mine_replenishment, mine_sequences

N_ITEMS = 5
DAY = 86_400
WINDOW = 30
Line = tuple[int, int, int]  # (order, item, customer of a new order)
# (count, holders of A, holders of B, q1, median, q3)
Figures = tuple[int, int, int, float, float, float]

lines_strategy = st.lists(
    st.tuples(st.integers(0, 14), st.integers(0, N_ITEMS - 1), st.integers(0, 2)), max_size=60
)
hour_strategy = st.builds(lambda day, hour: day * 24 + hour, st.integers(0, 45), st.integers(0, 23))
times_strategy = st.lists(hour_strategy, min_size=15, max_size=15)  # hours since day 0


def purchases(lines: list[Line], hours: list[int]) -> Purchases:
    """Every order keeps the customer of its first line; order o is placed at hours[o]."""
    owner: dict[int, int] = {}
    for order, _, customer in lines:
        owner.setdefault(order, customer)
    return Purchases(
        np.array([owner[o] for o, _, _ in lines], dtype=np.int64),
        np.array([o for o, _, _ in lines], dtype=np.int64),
        np.array([hours[o] * 3600 for o, _, _ in lines], dtype=np.int64),
        np.array([i for _, i, _ in lines], dtype=np.int32),
        N_ITEMS,
    )


def history(p: Purchases) -> dict[int, list[tuple[int, int, set[int]]]]:
    """Population customers -> their orders as (seconds, day, items)."""
    orders: dict[int, tuple[int, int, set[int]]] = {}
    for c, o, at, i in zip(
        p.customer.tolist(), p.order.tolist(), p.at.tolist(), p.item.tolist(), strict=True
    ):
        orders.setdefault(o, (c, at, set()))[2].add(i)
    by_customer: dict[int, list[tuple[int, int, set[int]]]] = defaultdict(list)
    for c, at, items in orders.values():
        by_customer[c].append((at, at // DAY, items))
    return {c: sorted(o, key=lambda x: x[0]) for c, o in by_customer.items() if len(o) >= 2}


def brute_sequences(p: Purchases) -> tuple[dict[tuple[int, int], Figures], int]:
    customers = history(p)
    holders = [
        sum(any(i in items for _, _, items in o) for o in customers.values())
        for i in range(N_ITEMS)
    ]
    delays: dict[tuple[int, int], list[int]] = defaultdict(list)
    for orders in customers.values():
        for a in range(N_ITEMS):
            for b in range(N_ITEMS):
                found = [
                    (db, db - da)
                    for ta, da, ia in orders
                    for tb, db, ib in orders
                    if a != b and a in ia and b in ib and tb > ta and db - da <= WINDOW
                ]
                if found:
                    delays[(a, b)].append(min(found)[1])
    figures: dict[tuple[int, int], Figures] = {}
    for pair, d in delays.items():
        q1, median, q3 = (float(x) for x in np.quantile(d, [0.25, 0.5, 0.75]))
        figures[pair] = (len(d), holders[pair[0]], holders[pair[1]], q1, median, q3)
    return figures, len(customers)


def brute_intervals(p: Purchases) -> dict[int, tuple[int, list[int]]]:
    """Item -> (repeating customers, every gap between consecutive distinct times)."""
    found: dict[int, tuple[int, list[int]]] = {}
    for item in range(N_ITEMS):
        gaps_of = []
        for orders in history(p).values():
            times = sorted({(at, day) for at, day, items in orders if item in items})
            gaps_of.append([later[1] - earlier[1] for earlier, later in pairwise(times)])
        gaps = [g for customer in gaps_of for g in customer]
        if gaps:
            found[item] = (sum(1 for customer in gaps_of if customer), gaps)
    return found


@settings(max_examples=150, deadline=None)
@given(lines_strategy, times_strategy, st.integers(1, 3), st.fractions(0, 1, max_denominator=6))
def test_sequences_match_the_definition(
    lines: list[Line], hours: list[int], min_count: int, min_confidence: Fraction
) -> None:
    p = purchases(lines, hours)
    params = SequenceParams(WINDOW, min_count, min_confidence, min_lift=0, top_n=None)
    # Tiny chunks, antecedent ranges and search slices: every boundary gets crossed.
    with (
        mock.patch.object(sequence_counts, "CHUNK_PAIRS", 3),
        mock.patch.object(sequence_counts, "RANGE_PAIRS", 4),
        mock.patch.object(sequence_counts, "SEARCH_SLICE", 3),
    ):
        table = mine_sequences(p, params)
    expected, n = brute_sequences(p)
    kept = {
        pair: f
        for pair, f in expected.items()
        if f[0] >= min_count and Fraction(f[0], f[1]) >= min_confidence
    }
    found = {
        (int(a), int(b)): (int(c), int(ha), int(hb), q1, med, q3)
        for a, b, c, ha, hb, q1, med, q3 in zip(
            table.antecedent,
            table.consequent,
            table.count,
            table.antecedent_count,
            table.consequent_count,
            table.delays.q1,
            table.delays.median,
            table.delays.q3,
            strict=True,
        )
    }
    assert found == kept
    assert table.n_customers == n


@settings(max_examples=150, deadline=None)
@given(lines_strategy, times_strategy)
def test_rebuy_intervals_match_the_definition(lines: list[Line], hours: list[int]) -> None:
    p = purchases(lines, hours)
    params = SequenceParams(min_repeaters=1, min_repeat_share=0, max_interval_spread=math.inf)
    found = mine_replenishment(p, params)
    expected = brute_intervals(p)
    assert found.item.tolist() == sorted(expected)
    for k, item in enumerate(found.item.tolist()):
        repeaters, gaps = expected[item]
        assert (found.repeaters[k], found.intervals[k]) == (repeaters, len(gaps))
        assert found.delays.median[k] == float(np.median(gaps))
        assert found.delays.q1[k] == float(np.quantile(gaps, 0.25))
