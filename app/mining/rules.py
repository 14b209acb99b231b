"""Association rules A -> c (|A| <= 2) from basket counts: exact filters, ranking, metrics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.mining.baskets import AnyMatrix
from app.mining.itemsets import ItemsetCounts, count_itemsets, item_counts
from app.mining.thresholds import (
    InvalidThresholds,
    Thresholds,
    at_least,
    default_min_count,
    thresholds_from,
)

__all__ = [
    "InvalidThresholds",
    "RuleTable",
    "Thresholds",
    "default_min_count",
    "item_counts",
    "mine_rules",
    "rules_from_counts",
    "thresholds_from",
]

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class RuleTable:
    """Columnar rules; row i is antecedent[i] -> consequent[i] with its basket counts.

    `antecedent` has shape (n, 2): item codes ascending, second column -1 for a one-item
    antecedent. Metrics are derived from the exact counts, as float64 arrays.
    """

    antecedent: NDArray[np.int32]
    consequent: NDArray[np.int32]
    count: NDArray[np.int64]  # baskets holding A and c
    antecedent_count: NDArray[np.int64]
    consequent_count: NDArray[np.int64]
    n_baskets: int

    def __len__(self) -> int:
        return len(self.consequent)

    @property
    def support(self) -> Floats:
        return self.count / float(self.n_baskets)

    @property
    def confidence(self) -> Floats:
        return self.count / self.antecedent_count.astype(np.float64)

    @property
    def lift(self) -> Floats:
        return self.confidence / (self.consequent_count / float(self.n_baskets))

    @property
    def leverage(self) -> Floats:
        n = float(self.n_baskets)
        return self.support - (self.antecedent_count / n) * (self.consequent_count / n)

    @property
    def conviction(self) -> Floats:
        certain = self.count == self.antecedent_count
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (1.0 - self.consequent_count / float(self.n_baskets)) / (1.0 - self.confidence)
        # Decided on the integer counts: a float confidence of 1 - tiny must not become inf.
        return np.where(certain, np.inf, ratio)


def mine_rules(matrix: AnyMatrix, thresholds: Thresholds) -> RuleTable:
    """Every rule meeting `thresholds`, ordered by antecedent then rank within it.

    The rank within an antecedent is confidence desc, lift desc, consequent code asc. With
    A fixed those orders reduce to integer ones (count desc, consequent count asc), so
    ties are broken exactly and the output is the same on every machine.
    """
    counts = count_itemsets(matrix, thresholds.min_count, thresholds.max_antecedent + 1)
    return rules_from_counts(counts, thresholds)


def rules_from_counts(counts: ItemsetCounts, thresholds: Thresholds) -> RuleTable:
    """The rules of `mine_rules`, from itemset counts made elsewhere (the Spark engine).

    `counts` must hold every itemset of up to max_antecedent + 1 items that reaches
    thresholds.min_count, and no other.
    """
    rules = _candidate_rules(counts, thresholds.max_antecedent)
    n = np.int64(counts.n_baskets)
    keep = at_least(rules.count, rules.antecedent_count, thresholds.min_confidence)
    keep &= at_least(
        rules.count * n, rules.antecedent_count * rules.consequent_count, thresholds.min_lift
    )
    return _ranked(_take(rules, keep), counts.item_count, thresholds.top_n)


def _candidate_rules(counts: ItemsetCounts, max_antecedent: int) -> RuleTable:
    """All rules of frequent itemsets: both directions of a pair, three splits of a triple."""
    a, b = counts.pairs[:, 0], counts.pairs[:, 1]
    none = np.full(len(a), -1, dtype=np.int32)
    parts = [
        _rule_part(np.stack((a, none), 1), b, counts.pair_count, counts.item_count[a], counts),
        _rule_part(np.stack((b, none), 1), a, counts.pair_count, counts.item_count[b], counts),
    ]
    if max_antecedent == 2:
        x, y, z = counts.triples[:, 0], counts.triples[:, 1], counts.triples[:, 2]
        for first, second, last in ((x, y, z), (x, z, y), (y, z, x)):
            parts.append(
                _rule_part(
                    np.stack((first, second), 1),
                    last,
                    counts.triple_count,
                    counts.pair_counts_of(first, second),
                    counts,
                )
            )
    return RuleTable(
        antecedent=np.concatenate([p.antecedent for p in parts]).reshape(-1, 2),
        consequent=np.concatenate([p.consequent for p in parts]),
        count=np.concatenate([p.count for p in parts]),
        antecedent_count=np.concatenate([p.antecedent_count for p in parts]),
        consequent_count=np.concatenate([p.consequent_count for p in parts]),
        n_baskets=counts.n_baskets,
    )


def _rule_part(
    antecedent: NDArray[np.int32],
    consequent: NDArray[np.int32],
    count: NDArray[np.int64],
    antecedent_count: NDArray[np.int64],
    counts: ItemsetCounts,
) -> RuleTable:
    return RuleTable(
        antecedent.astype(np.int32),
        consequent.astype(np.int32),
        count,
        antecedent_count,
        counts.item_count[consequent],
        counts.n_baskets,
    )


def _ranked(rules: RuleTable, item_count: NDArray[np.int64], top_n: int | None) -> RuleTable:
    """Rules ordered by antecedent, then count desc, consequent count asc, consequent asc."""
    n_items = len(item_count)
    # Two packed int64 keys sort ~2x faster than np.lexsort over the five columns.
    antecedent = rules.antecedent[:, 0].astype(np.int64) * (n_items + 1) + rules.antecedent[:, 1]
    popularity = np.empty(n_items, dtype=np.int64)
    popularity[np.lexsort((np.arange(n_items), item_count))] = np.arange(n_items)
    rank = (rules.count.max(initial=0) - rules.count) * n_items + popularity[rules.consequent]
    rules = _take(rules, np.lexsort((rank, antecedent)))
    if top_n is None or len(rules) == 0:
        return rules
    antecedent = rules.antecedent
    new_group = np.concatenate(([True], np.any(antecedent[1:] != antecedent[:-1], axis=1)))
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(rules)), 0))
    return _take(rules, np.arange(len(rules)) - group_start < top_n)


def _take(rules: RuleTable, selection: NDArray[np.bool_] | NDArray[np.intp]) -> RuleTable:
    return RuleTable(
        rules.antecedent[selection],
        rules.consequent[selection],
        rules.count[selection],
        rules.antecedent_count[selection],
        rules.consequent_count[selection],
        rules.n_baskets,
    )
