"""Sequential rules and rebuy intervals on hand-computed histories."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.mining.sequences import (
    Purchases,
    SequenceParams,
    SequenceTable,
    mine_replenishment,
    mine_sequences,
)

DAY = 86_400
A, B, C = 0, 1, 2
EVERYTHING = SequenceParams(
    min_count=1,
    min_confidence=0,
    min_lift=0,
    top_n=None,
    min_repeaters=1,
    min_repeat_share=0,
    max_interval_spread=math.inf,
)
# (customer, order, day, item). Customers 4 (one order) are outside the population;
# customer 5's two orders share a timestamp, so neither is later than the other.
HISTORY = [
    (1, 1, 0, A),
    (1, 2, 10, B),
    (1, 3, 20, B),
    (1, 3, 20, C),
    (2, 4, 0, A),
    (2, 4, 0, B),
    (2, 5, 100, B),
    (3, 6, 5, A),
    (3, 7, 35, B),
    (3, 8, 40, A),
    (3, 9, 50, B),
    (4, 10, 0, C),
    (5, 11, 0, A),
    (5, 12, 0, B),
]


def purchases(rows: list[tuple[int, int, int, int]], n_items: int = 3) -> Purchases:
    customer, order, day, item = (np.array(column) for column in zip(*rows, strict=True))
    return Purchases(
        customer.astype(np.int64),
        order.astype(np.int64),
        (day * DAY + 9 * 3600).astype(np.int64),
        item.astype(np.int32),
        n_items,
    )


def as_rows(table: SequenceTable) -> dict[tuple[int, int], tuple[float, ...]]:
    return {
        (int(a), int(b)): (int(n), s, conf, lift, q1, med, q3)
        for a, b, n, s, conf, lift, q1, med, q3 in zip(
            table.antecedent,
            table.consequent,
            table.count,
            table.support,
            table.confidence,
            table.lift,
            table.delays.q1,
            table.delays.median,
            table.delays.q3,
            strict=True,
        )
    }


def test_sequence_figures_match_the_hand_computed_history() -> None:
    rows = as_rows(mine_sequences(purchases(HISTORY), EVERYTHING))
    # Population: customers 1, 2, 3, 5 (N = 4); A and B are held by all four, C by one.
    # A -> B: customer 1 after 10 days, customer 3 from the A of day 5 to the B of day 35;
    # customer 2's B comes 100 days later, outside the 90-day window.
    assert rows[(A, B)] == (2, 0.5, 0.5, 0.5, 15.0, 20.0, 25.0)
    assert rows[(A, C)] == (1, 0.25, 0.25, 1.0, 20.0, 20.0, 20.0)
    assert rows[(B, C)] == (1, 0.25, 0.25, 1.0, 10.0, 10.0, 10.0)
    assert rows[(B, A)] == (1, 0.25, 0.25, 0.25, 5.0, 5.0, 5.0)
    assert set(rows) == {(A, B), (A, C), (B, C), (B, A)}


def test_items_bought_in_the_same_order_are_not_a_sequence() -> None:
    history = [(1, 1, 0, A), (1, 1, 0, B), (1, 2, 3, C)]
    rows = as_rows(mine_sequences(purchases(history), EVERYTHING))
    assert set(rows) == {(A, C), (B, C)}


def test_the_window_is_inclusive_in_calendar_days() -> None:
    history = [(1, 1, 0, A), (1, 2, 7, B), (2, 3, 0, A), (2, 4, 8, B)]
    params = SequenceParams(window_days=7, min_count=1, min_confidence=0, min_lift=0)
    assert as_rows(mine_sequences(purchases(history), params))[(A, B)][0] == 1


def test_delay_quartiles_interpolate_like_numpy() -> None:
    delays = [3, 7, 7, 10, 30, 31]
    history = [
        row
        for customer, delay in enumerate(delays)
        for row in ((customer, 2 * customer, 0, A), (customer, 2 * customer + 1, delay, B))
    ]
    [figures] = as_rows(mine_sequences(purchases(history), EVERYTHING)).values()
    q1, median, q3 = figures[4:]
    assert (q1, median, q3) == tuple(np.quantile(delays, [0.25, 0.5, 0.75]))
    assert median == 8.5


def test_each_customer_counts_once_with_their_first_follow_up() -> None:
    # A on days 0 and 20, B on days 30 and 60: one customer, delay 10 (A of day 20 to B of 30).
    history = [(1, 1, 0, A), (1, 2, 20, A), (1, 3, 30, B), (1, 4, 60, B)]
    assert as_rows(mine_sequences(purchases(history), EVERYTHING))[(A, B)][0::5] == (1, 10.0)


def test_thresholds_are_inclusive_and_rank_by_confidence() -> None:
    params = SequenceParams(min_count=2, min_confidence="0.5", min_lift="0.5", top_n=None)
    table = mine_sequences(purchases(HISTORY), params)
    assert list(zip(table.antecedent, table.consequent, strict=True)) == [(A, B)]
    assert len(mine_sequences(purchases(HISTORY), SequenceParams(min_count=3))) == 0


def test_top_n_keeps_the_best_rules_of_each_antecedent() -> None:
    params = SequenceParams(min_count=1, min_confidence=0, min_lift=0, top_n=1)
    table = mine_sequences(purchases(HISTORY), params)
    # B -> C and B -> A tie on customers; C's lower base rate gives the higher lift.
    assert list(zip(table.antecedent, table.consequent, strict=True)) == [(A, B), (B, C)]


def test_replenishment_intervals_match_the_hand_computed_history() -> None:
    found = mine_replenishment(purchases(HISTORY), EVERYTHING)
    by_item = {int(item): k for k, item in enumerate(found.item)}
    b = by_item[B]  # gaps: customer 1 10 days, customer 2 100 days, customer 3 15 days
    assert (found.holders[b], found.repeaters[b], found.intervals[b]) == (4, 3, 3)
    assert (found.delays.q1[b], found.delays.median[b], found.delays.q3[b]) == (12.5, 15.0, 57.5)
    assert found.repeat_share[b] == 0.75
    a = by_item[A]  # customer 3 only: day 5 to day 40; customer 5's second A is not later
    assert (found.repeaters[a], found.delays.median[a]) == (1, 35.0)
    assert C not in by_item


def test_consumables_need_enough_repeaters_share_and_a_regular_pace() -> None:
    # B: 3 of 4 holders rebuy it, intervals 10, 15, 100 days: quartile spread 45 = 3 x median.
    def consumables(share: str, spread: float) -> list[int]:
        params = SequenceParams(min_repeaters=2, min_repeat_share=share, max_interval_spread=spread)
        found: list[int] = mine_replenishment(purchases(HISTORY), params).item.tolist()
        return found

    assert consumables("0.75", 3.0) == [B]
    assert consumables("0.76", 3.0) == []
    assert consumables("0.75", 2.9) == []


def test_empty_history_gives_empty_tables() -> None:
    nothing = Purchases(
        np.empty(0, np.int64),
        np.empty(0, np.int64),
        np.empty(0, np.int64),
        np.empty(0, np.int32),
        3,
    )
    assert len(mine_sequences(nothing, EVERYTHING)) == 0
    assert len(mine_replenishment(nothing, EVERYTHING).item) == 0


def test_mismatched_columns_are_rejected() -> None:
    with pytest.raises(ValueError, match="equally long"):
        Purchases(
            np.zeros(2, np.int64),
            np.zeros(1, np.int64),
            np.zeros(2, np.int64),
            np.zeros(2, np.int32),
            3,
        )
