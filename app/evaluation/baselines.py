"""Reference recommenders the default ranking is measured against, fitted on training baskets.

Each turns the training baskets into a `Recommender` (cart -> SKUs best first). Every one
leaves out the cart and breaks ties, and fills what its evidence cannot, by popularity, so
that only the evidence differs between them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from app.evaluation.holdout import Case, Recommender, score
from app.mining.baskets import BasketMatrix, baskets_from_lists
from app.mining.item_weights import ease_matrix
from app.mining.rules import Thresholds, item_counts, mine_rules

Floats = NDArray[np.float64]
EASE_LAMBDAS = (10.0, 20.0, 50.0, 100.0, 200.0, 500.0)
EASE_MAX_ITEMS = 5000  # the most bought items; a dense inverse grows with their cube
RULES_MIN_COUNT = 2  # the plain rules baseline keeps every rule seen in 2+ baskets


@dataclass(frozen=True)
class Encoded:
    """Training baskets as a matrix, with the SKU of each column and their popularity."""

    matrix: BasketMatrix
    skus: list[str]
    code_of: dict[str, int]
    counts: NDArray[np.int64]

    @classmethod
    def of(cls, baskets: Sequence[Sequence[str]]) -> Encoded:
        matrix, skus = baskets_from_lists(baskets)
        return cls(matrix, skus, {sku: n for n, sku in enumerate(skus)}, item_counts(matrix))

    def codes(self, cart: Sequence[str]) -> list[int]:
        return [self.code_of[sku] for sku in cart if sku in self.code_of]


def _top(encoded: Encoded, scores: Floats, cart: list[int], k: int) -> list[str]:
    """The k best-scored items outside the cart; popularity breaks ties (and fills)."""
    # Scores carry the evidence; a share of a count far below any score step orders ties.
    tie = encoded.counts / (encoded.counts.max(initial=1) * 1e9)
    ranked = scores + tie
    ranked[cart] = -np.inf
    best = np.argpartition(-ranked, k)[:k] if len(ranked) > k else np.arange(len(ranked))
    best = best[np.argsort(-ranked[best], kind="stable")]
    return [encoded.skus[code] for code in best.tolist() if np.isfinite(ranked[code])]


def most_popular(encoded: Encoded, k: int) -> Recommender:
    zeros = np.zeros(len(encoded.skus))
    return lambda cart: _top(encoded, zeros.copy(), encoded.codes(cart), k)


def max_confidence_rules(encoded: Encoded, k: int) -> Recommender:
    """Every 1->1 and 2->1 rule of 2+ baskets; a candidate scores its best confidence."""
    rules = mine_rules(encoded.matrix, Thresholds(RULES_MIN_COUNT, Fraction(0), Fraction(0)))
    confidence = rules.confidence
    fired: dict[tuple[int, int], tuple[NDArray[np.int32], Floats]] = {}
    first, second = rules.antecedent[:, 0], rules.antecedent[:, 1]
    bounds = np.flatnonzero((np.diff(first) != 0) | (np.diff(second) != 0)) + 1
    for rows in np.split(np.arange(len(rules)), bounds):
        if len(rows):
            key = (int(first[rows[0]]), int(second[rows[0]]))
            fired[key] = (rules.consequent[rows], confidence[rows])

    def recommend(cart: tuple[str, ...]) -> list[str]:
        codes = sorted(set(encoded.codes(cart)))
        scores = np.zeros(len(encoded.skus))
        keys = [(a, -1) for a in codes]
        keys += [(a, b) for i, a in enumerate(codes) for b in codes[i + 1 :]]
        for key in keys:
            if key in fired:
                consequents, values = fired[key]
                np.maximum.at(scores, consequents, values)
        return _top(encoded, scores, codes, k)

    return recommend


def item_cosine(encoded: Encoded, k: int) -> Recommender:
    """Sum over cart items of the cosine between item columns (co-counts / sqrt(n_i n_j))."""
    x = sp.csc_array(encoded.matrix, dtype=np.float64)
    gram = sp.csr_array(x.T @ x)
    norms = 1 / np.sqrt(np.maximum(encoded.counts, 1).astype(np.float64))
    cosine = sp.csr_array(sp.diags_array(norms) @ gram @ sp.diags_array(norms))
    cosine.setdiag(0)

    def recommend(cart: tuple[str, ...]) -> list[str]:
        codes = encoded.codes(cart)
        scores = np.asarray(cosine[codes].sum(axis=0)).ravel() if codes else np.zeros(len(norms))
        return _top(encoded, scores, codes, k)

    return recommend


def ease(encoded: Encoded, k: int, lam: float) -> Recommender:
    items, weights = ease_matrix(encoded.matrix, encoded.counts, lam, EASE_MAX_ITEMS)
    column = np.full(len(encoded.skus), -1)
    column[items] = np.arange(len(items))

    def recommend(cart: tuple[str, ...]) -> list[str]:
        codes = encoded.codes(cart)
        rows = [int(column[c]) for c in codes if column[c] >= 0]
        scores = np.zeros(len(encoded.skus))
        if rows:
            scores[items] = weights[rows].sum(axis=0)
        return _top(encoded, scores, codes, k)

    return recommend


def pick_ease_lambda(
    train: Sequence[Sequence[str]], cases: Sequence[Case], k: int
) -> tuple[float, dict[float, float]]:
    """The lambda with the best hit rate on validation cases (ties: the smaller lambda)."""
    encoded = Encoded.of(train)
    rates = {
        lam: score("ease", cases, ease(encoded, k, lam), len(encoded.skus)).hit_rate
        for lam in EASE_LAMBDAS
    }
    return max(rates, key=lambda lam: (rates[lam], -lam)), rates


Baseline = Callable[[Encoded, int], Recommender]
BASELINES: dict[str, Baseline] = {
    "most popular": most_popular,
    "rules 1/2->1, max confidence": max_confidence_rules,
    "item-item cosine": item_cosine,
}
