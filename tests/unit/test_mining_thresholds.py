"""Threshold validation, exact decimal conversion and the adaptive default support."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from app.mining import (
    InvalidThresholds,
    Thresholds,
    baskets_from_lists,
    default_min_count,
    mine_rules,
    thresholds_from,
)
from app.mining.thresholds import DecimalLike, at_least


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"min_confidence": "1.5"}, "min_confidence must be within [0, 1], got 1.5"),
        ({"min_confidence": "-0.1"}, "min_confidence must be within [0, 1], got -0.1"),
        ({"min_confidence": "abc"}, "min_confidence must be a finite decimal number, got 'abc'"),
        ({"min_confidence": "NaN"}, "min_confidence must be a finite decimal number"),
        ({"min_lift": "-1"}, "min_lift must be >= 0, got -1"),
        ({"min_lift": "Infinity"}, "min_lift must be a finite decimal number"),
        ({"min_support": "0"}, "min_support must be within (0, 1], got 0"),
        ({"min_support": "1.01"}, "min_support must be within (0, 1], got 1.01"),
        ({"min_count": 0}, "min_count must be >= 1, got 0"),
        ({"top_n": 0}, "top_n must be >= 1 or None, got 0"),
        ({"max_antecedent": 3}, "max_antecedent must be 1 or 2, got 3"),
        ({"n_baskets": -1}, "n_baskets must be >= 0, got -1"),
        ({"min_support": "0.1", "min_count": 3}, "give min_support or min_count, not both"),
    ],
)
def test_out_of_range_thresholds_raise_an_error_naming_the_parameter(
    arguments: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {"n_baskets": 1_000, **arguments}
    with pytest.raises(InvalidThresholds) as raised:
        thresholds_from(**values)  # type: ignore[arg-type]
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_thresholds_built_directly_are_validated_too() -> None:
    with pytest.raises(InvalidThresholds, match="min_confidence must be within"):
        Thresholds(min_count=1, min_confidence=Fraction(3, 2), min_lift=Fraction(1))


@pytest.mark.parametrize(
    ("n_baskets", "min_support", "min_count"),
    [
        (9_835, "0.001", 10),
        (100, "0.07", 7),  # 0.07 * 100 is 7.000000000000001 in floats: ceil gives 8
        (100, "0.29", 29),
        (10, Decimal("0.35"), 4),
        (7, "1", 7),
        (0, "0.5", 1),  # an itemset always needs at least one basket
    ],
)
def test_min_support_becomes_an_exact_ceiling_count(
    n_baskets: int, min_support: DecimalLike, min_count: int
) -> None:
    thresholds = thresholds_from(n_baskets=n_baskets, min_support=min_support)
    assert thresholds.min_count == min_count


@pytest.mark.parametrize(
    ("value", "exact"),
    [("0.05", Fraction(1, 20)), (Decimal("0.1"), Fraction(1, 10)), (0.1, Fraction(1, 10)), (1, 1)],
)
def test_decimals_are_taken_exactly(value: DecimalLike, exact: Fraction) -> None:
    thresholds = thresholds_from(n_baskets=100, min_confidence=value, min_lift=value)
    assert (thresholds.min_confidence, thresholds.min_lift) == (exact, exact)


def test_defaults_are_the_documented_ones() -> None:
    thresholds = thresholds_from(n_baskets=200_000)
    assert thresholds == Thresholds(
        min_count=default_min_count(200_000),
        min_confidence=Fraction(1, 20),
        min_lift=Fraction(101, 100),
        top_n=50,
        max_antecedent=2,
    )


def test_zero_thresholds_are_accepted_for_unfiltered_mining() -> None:
    thresholds = thresholds_from(n_baskets=10, min_count=1, min_confidence="0", min_lift="0")
    assert (thresholds.min_confidence, thresholds.min_lift) == (Fraction(0), Fraction(0))


@pytest.mark.parametrize(
    ("n_baskets", "expected"),
    [
        (0, 5),
        (1_000, 5),
        (62_500, 5),  # sqrt(62,500) / 50 is exactly 5
        (62_501, 6),
        (100_000, 7),
        (1_000_000, 20),
        (1_000_001, 21),
        (10_000_000, 64),
    ],
)
def test_default_min_count_has_a_floor_then_grows_with_the_square_root_of_baskets(
    n_baskets: int, expected: int
) -> None:
    assert default_min_count(n_baskets) == expected


def test_exact_comparison_survives_products_beyond_int64() -> None:
    # 10**12-scale counts against a ratio with a 10**18 denominator overflow int64 products.
    ratio = Fraction(10**18 + 1, 10**18)
    rhs = np.array([10**12, 10**12, 10**12], dtype=np.int64)
    lhs = np.array([10**12, 10**12 + 1, 10**12 - 1], dtype=np.int64)
    assert at_least(lhs, rhs, ratio).tolist() == [False, True, False]
    assert at_least(lhs, rhs, Fraction(1)).tolist() == [True, True, False]


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (Fraction(10**400), [False, False]),  # float(ratio) would overflow
        (Fraction(1, 10**400), [False, True]),  # float(ratio) rounds to 0
    ],
)
def test_exact_comparison_handles_extreme_ratios(ratio: Fraction, expected: list[bool]) -> None:
    lhs = np.array([0, 1], dtype=np.int64)
    rhs = np.array([1, 1], dtype=np.int64)
    assert at_least(lhs, rhs, ratio).tolist() == expected


def test_a_huge_lift_threshold_keeps_no_rules() -> None:
    matrix, _ = baskets_from_lists([["a", "b"], ["a", "b"], ["c"]])
    thresholds = thresholds_from(n_baskets=3, min_count=1, min_lift="1e400")
    assert len(mine_rules(matrix, thresholds)) == 0
