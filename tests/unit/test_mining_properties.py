"""Mining maths against a brute-force counter on tiny random baskets (hypothesis)."""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction
from itertools import combinations
from random import Random
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from app.mining import RuleTable, Thresholds, encode_baskets, mine_rules
from app.mining import itemsets as itemsets_module

N_ITEMS = 8
Basket = list[int]
# (antecedent, consequent, count, antecedent count, consequent count)
Rule = tuple[tuple[int, ...], int, int, int, int]

baskets_strategy = st.lists(
    st.lists(st.integers(0, N_ITEMS - 1), min_size=1, max_size=7), min_size=1, max_size=40
)
ratios = st.fractions(min_value=0, max_value=1, max_denominator=12)
thresholds_strategy = st.builds(
    Thresholds,
    min_count=st.integers(1, 8),
    min_confidence=ratios,
    min_lift=st.fractions(min_value=0, max_value=3, max_denominator=6),
    top_n=st.none() | st.integers(1, 3),
    max_antecedent=st.sampled_from([1, 2]),
)


def encode(baskets: list[Basket]) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    ids = np.repeat(np.arange(len(baskets), dtype=np.int64), [len(b) for b in baskets])
    codes = np.array([item for basket in baskets for item in basket], dtype=np.int32)
    return ids, codes


def mine(baskets: list[Basket], thresholds: Thresholds) -> RuleTable:
    return mine_rules(encode_baskets(*encode(baskets), N_ITEMS), thresholds)


def brute_force_rules(baskets: list[Basket], thresholds: Thresholds) -> list[Rule]:
    """Every rule by definition, with exact fractions, ranked as documented."""
    sets = [frozenset(basket) for basket in baskets]
    counts = Counter(
        itemset for s in sets for size in (1, 2, 3) for itemset in combinations(sorted(s), size)
    )
    n = len(sets)
    rules: list[Rule] = []
    for itemset, count in counts.items():
        if len(itemset) < 2 or count < thresholds.min_count:
            continue
        for consequent in itemset:
            antecedent = tuple(i for i in itemset if i != consequent)
            if len(antecedent) > thresholds.max_antecedent:
                continue
            a_count, c_count = counts[antecedent], counts[(consequent,)]
            confidence = Fraction(count, a_count)
            if confidence >= thresholds.min_confidence and (
                confidence / Fraction(c_count, n) >= thresholds.min_lift
            ):
                rules.append((antecedent, consequent, count, a_count, c_count))
    return ranked(rules, thresholds.top_n, n)


def ranked(rules: list[Rule], top_n: int | None, n: int) -> list[Rule]:
    def rank(rule: Rule) -> tuple[object, ...]:
        antecedent, consequent, count, a_count, c_count = rule
        lift = Fraction(count * n, a_count * c_count)
        key = (antecedent[0], antecedent[1] if len(antecedent) > 1 else -1)
        return (key, -Fraction(count, a_count), -lift, consequent)

    ordered = sorted(rules, key=rank)
    per_antecedent: Counter[tuple[int, ...]] = Counter()
    kept = []
    for rule in ordered:
        per_antecedent[rule[0]] += 1
        if top_n is None or per_antecedent[rule[0]] <= top_n:
            kept.append(rule)
    return kept


def as_rules(table: RuleTable) -> list[Rule]:
    return [
        (
            tuple(int(i) for i in table.antecedent[k] if i >= 0),
            int(table.consequent[k]),
            int(table.count[k]),
            int(table.antecedent_count[k]),
            int(table.consequent_count[k]),
        )
        for k in range(len(table))
    ]


@settings(max_examples=100, deadline=None)
@given(baskets_strategy, thresholds_strategy)
def test_rules_equal_brute_force_in_content_and_order(
    baskets: list[Basket], thresholds: Thresholds
) -> None:
    assert as_rules(mine(baskets, thresholds)) == brute_force_rules(baskets, thresholds)


@pytest.mark.parametrize(("table_cells", "chunk_pairs"), [(0, 1), (30, 7), (2**30, 2**20)])
@settings(max_examples=30, deadline=None)
@given(baskets=baskets_strategy, thresholds=thresholds_strategy)
def test_pair_table_layout_and_chunking_do_not_change_rules(
    table_cells: int, chunk_pairs: int, baskets: list[Basket], thresholds: Thresholds
) -> None:
    # Big catalogues renumber items for the pair table or fall back to a binary search,
    # and big data is counted in chunks of baskets; small budgets force those paths here.
    with (
        mock.patch.object(itemsets_module, "DENSE_PAIR_CELLS", table_cells),
        mock.patch.object(itemsets_module, "_CHUNK_PAIRS", chunk_pairs),
    ):
        assert as_rules(mine(baskets, thresholds)) == brute_force_rules(baskets, thresholds)


@settings(max_examples=60, deadline=None)
@given(baskets_strategy)
def test_rule_metrics_match_definition(baskets: list[Basket]) -> None:
    table = mine(baskets, Thresholds(1, Fraction(0), Fraction(0)))
    n = Fraction(len(baskets))
    for k, (_, _, count, a_count, c_count) in enumerate(as_rules(table)):
        support, s_a, s_c = count / n, a_count / n, c_count / n
        confidence = support / s_a
        expected = {
            "support": support,
            "confidence": confidence,
            "lift": confidence / s_c,
            "leverage": support - s_a * s_c,
            "conviction": math.inf if confidence == 1 else (1 - s_c) / (1 - confidence),
        }
        for name, value in expected.items():
            got = float(getattr(table, name)[k])
            assert math.isclose(got, float(value), rel_tol=1e-12, abs_tol=1e-15), name


@settings(max_examples=40, deadline=None)
@given(baskets_strategy, st.data())
def test_thresholds_are_inclusive_and_exact_at_the_boundary(
    baskets: list[Basket], data: st.DataObject
) -> None:
    everything = as_rules(mine(baskets, Thresholds(1, Fraction(0), Fraction(0))))
    if not everything:
        return
    rule = data.draw(st.sampled_from(everything))
    _, _, count, a_count, c_count = rule
    confidence = Fraction(count, a_count)
    lift = Fraction(count * len(baskets), a_count * c_count)
    on_boundary = Thresholds(count, confidence, lift)
    assert rule in as_rules(mine(baskets, on_boundary))
    # The smallest step above each boundary drops the rule: no float slack either way.
    tiny = Fraction(1, 10**30)
    for above in (
        Thresholds(count + 1, confidence, lift),
        Thresholds(count, min(confidence + tiny, Fraction(1)), lift) if confidence < 1 else None,
        Thresholds(count, confidence, lift + tiny),
    ):
        if above is not None:
            assert rule not in as_rules(mine(baskets, above))


@settings(max_examples=40, deadline=None)
@given(baskets_strategy, thresholds_strategy, st.randoms(use_true_random=False))
def test_duplicate_lines_and_line_order_do_not_change_rules(
    baskets: list[Basket], thresholds: Thresholds, rnd: Random
) -> None:
    ids, codes = encode(baskets)
    repeats = np.array([rnd.randint(1, 3) for _ in range(len(ids))])
    ids, codes = np.repeat(ids, repeats), np.repeat(codes, repeats)
    order = np.array(rnd.sample(range(len(ids)), len(ids)), dtype=np.int64)
    # Sparse, unordered order numbers, as a shop database would hand them out.
    shuffled = mine_rules(encode_baskets(ids[order] * 7919 + 3, codes[order], N_ITEMS), thresholds)
    assert as_rules(shuffled) == as_rules(mine(baskets, thresholds))


@settings(max_examples=30, deadline=None)
@given(baskets_strategy, thresholds_strategy)
def test_mining_is_deterministic(baskets: list[Basket], thresholds: Thresholds) -> None:
    first, second = mine(baskets, thresholds), mine(list(reversed(baskets)), thresholds)
    for column in ("antecedent", "consequent", "count", "antecedent_count", "consequent_count"):
        assert np.array_equal(getattr(first, column), getattr(second, column))


@settings(max_examples=60, deadline=None)
@given(baskets_strategy, thresholds_strategy, st.integers(1, 3))
def test_top_n_keeps_the_best_rules_of_each_antecedent(
    baskets: list[Basket], thresholds: Thresholds, top_n: int
) -> None:
    unlimited = as_rules(mine(baskets, Thresholds(**{**vars(thresholds), "top_n": None})))
    limited = as_rules(mine(baskets, Thresholds(**{**vars(thresholds), "top_n": top_n})))
    per_antecedent = Counter(rule[0] for rule in limited)
    assert all(n <= top_n for n in per_antecedent.values())
    seen: Counter[tuple[int, ...]] = Counter()
    best = []
    for rule in unlimited:
        seen[rule[0]] += 1
        if seen[rule[0]] <= top_n:
            best.append(rule)
    assert limited == best
