"""Item-item weights by EASE (Steck 2019): how much each item in a basket predicts another.

EASE fits, for every item j, a ridge regression of "basket holds j" on the basket's other
items, all at once in closed form: B = I - P / diag(P) with P = (X'X + lambda I)^-1 and a
zero diagonal. Unlike a rule, a weight accounts for the rest of the basket: two items
that always come together do not both count in full, and a negative weight says an item
makes another less likely (a substitute). A cart's score for a candidate is the sum of
the weights from its items.

The inverse is dense, so only the most bought items take part (their cube is the cost:
~1 s for 2,000 items); each keeps its strongest weights by size, negative ones included,
because dropping the negatives loses most of what the regression adds over co-counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from app.mining.baskets import AnyMatrix

MAX_ITEMS = 2000  # the most bought items that get weights
LAMBDA = 100.0  # ridge penalty: larger trusts co-counts of rare pairs less
PER_ITEM = 50  # weights kept per item, largest magnitude first


@dataclass(frozen=True)
class ItemWeights:
    """Row r: item `source[r]` predicts `target[r, :]` by `weight[r, :]` (largest first).

    Codes are the basket matrix's columns; a row with fewer weights ends in target -1.
    """

    source: NDArray[np.int32]
    target: NDArray[np.int32]
    weight: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.source)


def ease_matrix(
    matrix: AnyMatrix, item_count: NDArray[np.int64], lam: float, max_items: int
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """The dense EASE weights among the `max_items` most bought items, and those items."""
    items = weighted_items(item_count, max_items)
    return items, ease_from_co_counts(co_counts(matrix, items), lam)


def weighted_items(item_count: NDArray[np.int64], max_items: int) -> NDArray[np.intp]:
    """The `max_items` most bought items, ascending codes.

    Ties in popularity go to the lower code, so a rebuild on the same data is identical.
    """
    bought = np.flatnonzero(item_count > 0)
    order = bought[np.lexsort((bought, -item_count[bought]))]
    return np.sort(order[:max_items])


def co_counts(matrix: AnyMatrix, items: NDArray[np.intp]) -> NDArray[np.float64]:
    """X'X over `items`: baskets holding both items, the diagonal the item's own count."""
    x = sp.csc_array(sp.csr_array(matrix)[:, items], dtype=np.float64)
    gram: NDArray[np.float64] = (x.T @ x).toarray()
    return gram


def ease_from_co_counts(gram: NDArray[np.float64], lam: float) -> NDArray[np.float64]:
    """B = I - P / diag(P), P = (X'X + lambda I)^-1, zero diagonal; `gram` is reused."""
    if lam <= 0:
        raise ValueError(f"lambda must be > 0, got {lam}")
    gram[np.diag_indices_from(gram)] += lam
    inverse = np.linalg.inv(gram)
    weights: NDArray[np.float64] = inverse / -np.diag(inverse)
    weights[np.diag_indices_from(weights)] = 0.0
    return weights


def learn_item_weights(
    matrix: AnyMatrix,
    item_count: NDArray[np.int64],
    *,
    lam: float = LAMBDA,
    max_items: int = MAX_ITEMS,
    per_item: int = PER_ITEM,
) -> ItemWeights:
    """Each taking-part item's `per_item` largest weights by magnitude (zeros left out)."""
    if lam <= 0:
        raise ValueError(f"lambda must be > 0, got {lam}")
    items = weighted_items(item_count, max_items)
    return strongest_weights(items, co_counts(matrix, items), lam=lam, per_item=per_item)


def strongest_weights(
    items: NDArray[np.intp], gram: NDArray[np.float64], *, lam: float, per_item: int = PER_ITEM
) -> ItemWeights:
    """`learn_item_weights` from the co-counts of `weighted_items` (`gram` is overwritten)."""
    weights = ease_from_co_counts(gram, lam)
    keep = min(per_item, max(len(items) - 1, 0))
    if keep == 0:
        empty = np.zeros((len(items), 0))
        return ItemWeights(items.astype(np.int32), empty.astype(np.int32), empty)
    size = np.abs(weights)
    strongest = np.argpartition(-size, keep - 1, axis=1)[:, :keep]
    rows = np.arange(len(items))[:, None]
    # Largest magnitude first; equal sizes by target code, so the order is deterministic.
    order = np.lexsort((items[strongest], -size[rows, strongest]), axis=1)
    strongest = strongest[rows, order]
    chosen = weights[rows, strongest]
    target = np.where(chosen != 0, items[strongest], -1).astype(np.int32)
    return ItemWeights(items.astype(np.int32), target, np.where(target >= 0, chosen, 0.0))
