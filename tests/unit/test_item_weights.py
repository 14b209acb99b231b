"""EASE item weights: the regression they solve, what is kept, and how they are published."""

from __future__ import annotations

import numpy as np
import pytest

from app.jobs.entries import weight_entries
from app.mining.baskets import baskets_from_lists
from app.mining.item_weights import ease_matrix, learn_item_weights
from app.mining.rules import item_counts
from app.published import keys, snapshot


def random_baskets(seed: int, items: int = 6, baskets: int = 80) -> list[list[str]]:
    generator = np.random.default_rng(seed)
    return [
        [f"i{n}" for n in range(items) if generator.random() < 0.2 + 0.6 * n / items]
        for _ in range(baskets)
    ]


def test_each_items_weights_solve_its_ridge_regression_on_the_other_items() -> None:
    matrix, _ = baskets_from_lists(random_baskets(4))
    items, weights = ease_matrix(matrix, item_counts(matrix), 3.0, max_items=10)
    x = matrix[:, items].toarray().astype(np.float64)
    for j in range(len(items)):
        others = [i for i in range(len(items)) if i != j]
        a = x[:, others]
        direct = np.linalg.solve(a.T @ a + 3.0 * np.eye(len(others)), a.T @ x[:, j])
        assert weights[j, j] == 0
        np.testing.assert_allclose(weights[others, j], direct, atol=1e-9)


def test_only_the_most_bought_items_take_part() -> None:
    baskets = [["a", "b", "c"], ["a", "b"], ["a", "c"], ["a"], ["d", "a"]]
    matrix, names = baskets_from_lists(baskets)
    items, _ = ease_matrix(matrix, item_counts(matrix), 1.0, max_items=2)
    # a: 5 baskets, b and c: 2 each (the lower code wins the tie), d: 1
    assert [names[i] for i in items] == ["a", "b"]
    with pytest.raises(ValueError, match="lambda"):
        ease_matrix(matrix, item_counts(matrix), 0.0, max_items=2)


def substitutes() -> list[list[str]]:
    """Tea or coffee (never both) with milk and sugar; biscuits with either."""
    return [
        *[["tea", "milk", "biscuits"]] * 12,
        *[["coffee", "milk", "sugar"]] * 15,
        *[["coffee", "sugar", "biscuits"]] * 6,
        *[["tea", "lemon"]] * 9,
        *[["milk", "bread", "butter"]] * 10,
        *[["bread", "butter", "jam"]] * 8,
        *[["coffee", "biscuits"]] * 4,
        *[["tea", "sugar", "lemon"]] * 5,
    ]


def test_each_item_keeps_its_largest_weights_by_size_negative_ones_included() -> None:
    matrix, _ = baskets_from_lists(substitutes())
    counts = item_counts(matrix)
    items, dense = ease_matrix(matrix, counts, 5.0, max_items=8)
    kept = learn_item_weights(matrix, counts, lam=5.0, max_items=8, per_item=3)
    assert kept.target.shape == (8, 3) and (kept.weight < 0).any()
    for row, source in enumerate(kept.source.tolist()):
        full = dense[list(items).index(source)]
        expected = np.sort(np.abs(full))[::-1][:3]
        np.testing.assert_allclose(np.abs(kept.weight[row]), expected)
        for target, weight in zip(kept.target[row], kept.weight[row], strict=True):
            assert full[list(items).index(target)] == weight
    again = learn_item_weights(matrix, counts, lam=5.0, max_items=8, per_item=3)
    assert (again.target == kept.target).all()


def test_published_weights_read_back_as_the_api_reads_them() -> None:
    matrix, names = baskets_from_lists(random_baskets(2))
    kept = learn_item_weights(matrix, item_counts(matrix), lam=2.0, per_item=2)
    entries = dict(weight_entries(kept, names))
    assert len(entries) == len(names)
    first = names[int(kept.source[0])]
    hits = snapshot.decode_hits(keys.item_weights(first), entries[keys.item_weights(first)])
    assert isinstance(hits, dict)
    assert list(hits.items()) == [  # in the published order: largest magnitude first
        (names[int(t)], float(w)) for t, w in zip(kept.target[0], kept.weight[0], strict=True)
    ]


def test_a_single_item_shop_gets_no_weights() -> None:
    matrix, names = baskets_from_lists([["a"], ["a"]])
    kept = learn_item_weights(matrix, item_counts(matrix))
    assert list(weight_entries(kept, names)) == []
