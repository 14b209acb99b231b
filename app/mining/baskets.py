"""Turn order lines into a basket x item incidence matrix (one row per basket)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias, cast

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

BasketMatrix: TypeAlias = sp.csr_array[np.bool_, tuple[int, int]]
"""Rows are baskets, columns item codes; canonical CSR (sorted, no duplicates), all True."""

AnyMatrix: TypeAlias = (
    sp.csr_array[Any, Any]
    | sp.csr_matrix[Any]
    | sp.csc_array[Any]
    | sp.csc_matrix[Any]
    | sp.coo_array[Any, Any]
    | sp.coo_matrix[Any]
)
"""Sparse formats `mine_rules` accepts; rows are baskets, nonzero entries mean present."""


class InvalidBaskets(ValueError):
    """Order lines that cannot form baskets (mismatched lengths, item code out of range)."""


def encode_baskets(
    basket_ids: NDArray[np.int64], item_codes: NDArray[np.int32], n_items: int
) -> BasketMatrix:
    """One row per distinct basket id (ascending id order), columns are item codes.

    Lines may come in any order; repeated (basket, item) lines collapse into one entry
    because a basket holds distinct items and quantities never change support.
    """
    basket_ids = np.asarray(basket_ids, dtype=np.int64)
    # Range-checked before the int32 cast, so a wide code cannot wrap into a valid one.
    _check_lines(basket_ids, np.asarray(item_codes), n_items)
    rows, n_rows = _dense_row_numbers(basket_ids)
    return _incidence(rows, np.asarray(item_codes, dtype=np.int32), n_rows, n_items)


def baskets_from_lists(baskets: Sequence[Sequence[str]]) -> tuple[BasketMatrix, list[str]]:
    """Matrix for string baskets plus the item name of each code (names sorted).

    Every basket gets a row, empty ones too, because they still count towards N.
    """
    names = sorted({item for basket in baskets for item in basket})
    code_of = {name: code for code, name in enumerate(names)}
    sizes = np.fromiter((len(basket) for basket in baskets), dtype=np.int64, count=len(baskets))
    rows = np.repeat(np.arange(len(baskets), dtype=np.int64), sizes)
    items = np.fromiter(
        (code_of[item] for basket in baskets for item in basket),
        dtype=np.int32,
        count=int(sizes.sum()),
    )
    return _incidence(rows, items, len(baskets), len(names)), names


def as_basket_matrix(matrix: AnyMatrix) -> BasketMatrix:
    """Canonical boolean CSR form of any sparse incidence matrix (nonzero means present).

    A matrix from `encode_baskets` is returned as is; anything else is copied first, so the
    caller's matrix is never modified.
    """
    if (
        isinstance(matrix, sp.csr_array)
        and matrix.dtype == np.bool_
        and matrix.has_canonical_format
        and bool(matrix.data.all())
    ):
        return cast(BasketMatrix, matrix)
    csr = sp.csr_array(matrix.tocsr(), copy=True)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    present = np.ones(csr.nnz, dtype=np.bool_)
    return sp.csr_array((present, csr.indices, csr.indptr), shape=csr.shape)


def _check_lines(basket_ids: NDArray[np.int64], item_codes: NDArray[Any], n: int) -> None:
    if basket_ids.shape != item_codes.shape or basket_ids.ndim != 1:
        raise InvalidBaskets(
            f"basket_ids and item_codes must be 1-d and equally long, "
            f"got shapes {basket_ids.shape} and {item_codes.shape}"
        )
    if len(item_codes) and (item_codes.min() < 0 or item_codes.max() >= n):
        raise InvalidBaskets(
            f"item_codes must be within [0, {n}), "
            f"got values from {item_codes.min()} to {item_codes.max()}"
        )


def _dense_row_numbers(basket_ids: NDArray[np.int64]) -> tuple[NDArray[np.int64], int]:
    if len(basket_ids) == 0:
        return basket_ids, 0
    # Lines usually arrive grouped by order; then a running count of id changes numbers the
    # rows and the sort below is skipped.
    if np.all(basket_ids[1:] >= basket_ids[:-1]):
        rows = np.concatenate(([0], np.cumsum(basket_ids[1:] != basket_ids[:-1])))
        return rows, int(rows[-1]) + 1
    order = np.argsort(basket_ids, kind="stable")
    ordered = basket_ids[order]
    ordered_rows = np.concatenate(([0], np.cumsum(ordered[1:] != ordered[:-1])))
    rows = np.empty_like(ordered_rows)
    rows[order] = ordered_rows
    return rows, int(ordered_rows[-1]) + 1


def _incidence(
    rows: NDArray[np.int64], items: NDArray[np.int32], n_rows: int, n_items: int
) -> BasketMatrix:
    # The COO -> CSR conversion sorts each row and merges repeated (row, item) entries in
    # compiled code; with boolean data, merged entries stay True.
    matrix = sp.coo_array(
        (np.ones(len(rows), dtype=np.bool_), (rows, items)), shape=(n_rows, n_items)
    ).tocsr()
    matrix.sum_duplicates()
    return matrix
