"""Basket encoding, item counts and the synthetic Zipf generator."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp

from app.mining import (
    InvalidBaskets,
    Thresholds,
    baskets_from_lists,
    encode_baskets,
    item_counts,
    mine_rules,
    zipf_baskets,
)


def ids(*values: int) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
    return np.array(values, dtype=np.int64)


def codes(*values: int) -> np.ndarray[tuple[int], np.dtype[np.int32]]:
    return np.array(values, dtype=np.int32)


def test_one_row_per_distinct_basket_in_ascending_id_order() -> None:
    matrix = encode_baskets(ids(90, 7, 90, 7, 500), codes(2, 0, 1, 3, 2), 4)
    assert matrix.shape == (3, 4)
    assert matrix.toarray().astype(int).tolist() == [[1, 0, 0, 1], [0, 1, 1, 0], [0, 0, 1, 0]]


def test_repeated_lines_collapse_because_quantities_never_change_support() -> None:
    matrix = encode_baskets(ids(1, 1, 1, 2), codes(3, 3, 3, 3), 5)
    assert matrix.nnz == 2
    assert matrix.dtype == np.bool_
    assert item_counts(matrix).tolist() == [0, 0, 0, 2, 0]


def test_encoded_matrix_is_canonical_csr() -> None:
    basket_ids, item_codes = zipf_baskets(500, 30, seed=9)
    shuffled = np.random.default_rng(0).permutation(len(basket_ids))
    matrix = encode_baskets(basket_ids[shuffled], item_codes[shuffled], 30)
    assert isinstance(matrix, sp.csr_array)
    assert matrix.has_canonical_format
    assert matrix.shape[0] == len(np.unique(basket_ids))


@pytest.mark.parametrize(
    ("basket_ids", "item_codes", "message"),
    [
        (ids(1, 2), codes(0), "equally long"),
        (ids(1, 2), codes(0, 4), "item_codes must be within [0, 4)"),
        (ids(1), codes(-1), "item_codes must be within [0, 4)"),
    ],
)
def test_malformed_lines_are_rejected(
    basket_ids: np.ndarray[tuple[int], np.dtype[np.int64]],
    item_codes: np.ndarray[tuple[int], np.dtype[np.int32]],
    message: str,
) -> None:
    with pytest.raises(InvalidBaskets, match=message.replace("[", r"\[").replace(")", r"\)")):
        encode_baskets(basket_ids, item_codes, 4)


def test_item_codes_are_range_checked_before_narrowing_to_int32() -> None:
    wide = np.array([2**32 + 1], dtype=np.int64)  # would wrap to code 1
    with pytest.raises(InvalidBaskets, match="item_codes must be within"):
        encode_baskets(ids(1), wide, 4)  # type: ignore[arg-type]


def test_no_lines_give_an_empty_matrix_and_no_rules() -> None:
    matrix = encode_baskets(ids(), codes(), 3)
    assert matrix.shape == (0, 3)
    assert len(mine_rules(matrix, Thresholds(1, Fraction(0), Fraction(0)))) == 0


def test_string_baskets_keep_empty_baskets_in_the_basket_count() -> None:
    matrix, names = baskets_from_lists([["milk", "bread"], [], ["bread", "bread"]])
    assert names == ["bread", "milk"]
    assert matrix.shape == (3, 2)
    assert item_counts(matrix).tolist() == [2, 1]


def test_other_sparse_formats_mine_like_the_encoded_matrix() -> None:
    matrix, _ = baskets_from_lists([["a", "b"], ["a", "b", "c"], ["a", "c"], ["b"]])
    thresholds = Thresholds(1, Fraction(0), Fraction(0))
    expected = mine_rules(matrix, thresholds)
    # Integer data with explicit zeros and duplicates, in another format.
    rows = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3]
    cols = [0, 2, 1, 0, 0, 1, 2, 0, 2, 1]
    data = [2, 0, 1, 1, 1, 1, 1, 1, 1, 1]
    coo = sp.coo_matrix((np.array(data), (np.array(rows), np.array(cols))), shape=(4, 3))
    got = mine_rules(coo, thresholds)
    assert got.antecedent.tolist() == expected.antecedent.tolist()
    assert got.consequent.tolist() == expected.consequent.tolist()
    assert got.count.tolist() == expected.count.tolist()
    assert len(got) > 0
    assert coo.nnz == 10  # the caller's matrix is left alone


def test_zipf_generator_is_deterministic_and_within_bounds() -> None:
    first = zipf_baskets(2_000, 100, seed=3, min_items=2, max_items=5)
    second = zipf_baskets(2_000, 100, seed=3, min_items=2, max_items=5)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    basket_ids, item_codes = first
    sizes = np.bincount(basket_ids)
    assert basket_ids.dtype == np.dtype(np.int64) and item_codes.dtype == np.dtype(np.int32)
    assert len(sizes) == 2_000 and sizes.min() >= 2 and sizes.max() <= 5
    assert item_codes.min() >= 0 and item_codes.max() < 100


def test_zipf_generator_makes_popularity_fall_with_rank() -> None:
    _, item_codes = zipf_baskets(20_000, 1_000, seed=1)
    popularity = np.bincount(item_codes, minlength=1_000)
    assert popularity[0] > 5 * popularity[50] > 0
    assert popularity[:10].sum() > popularity[500:].sum() / 5


def test_zipf_generator_plants_rules_with_real_lift() -> None:
    basket_ids, item_codes = zipf_baskets(20_000, 200, seed=2)
    rules = mine_rules(
        encode_baskets(basket_ids, item_codes, 200), Thresholds(20, Fraction(1, 5), Fraction(2))
    )
    assert len(rules) > 50


def test_catalogues_beyond_46k_frequent_items_count_pairs_exactly() -> None:
    # Past 46,340 frequent items a pair key no longer fits int32; the counts must not wrap.
    n_items = 50_000
    first = np.arange(n_items - 1, dtype=np.int32)
    basket_ids = np.repeat(np.arange(n_items - 1, dtype=np.int64), 2)
    item_codes = np.stack((first, first + 1), axis=1).ravel()
    matrix = encode_baskets(basket_ids, item_codes, n_items)
    rules = mine_rules(matrix, Thresholds(1, Fraction(1, 2), Fraction(0)))
    # Item k (0 < k < n - 1) sits in two baskets, with k - 1 and with k + 1.
    assert len(rules) == 2 * (n_items - 1)
    last = rules.antecedent[:, 0] == n_items - 1
    assert rules.consequent[last].tolist() == [n_items - 2]
    assert rules.count.max() == 1


def test_min_count_above_every_pair_occurrence_gives_no_rules() -> None:
    # Three pair occurrences in all, min_count 5: the run-length scan must not misalign.
    matrix, _ = baskets_from_lists([["a", "b"]] * 3 + [["a"], ["b"]] * 2)
    assert len(mine_rules(matrix, Thresholds(5, Fraction(0), Fraction(0)))) == 0
