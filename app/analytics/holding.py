"""Who holds what: products by holders and how the top products combine across customers.

A customer *holds* a product when any of their orders contains it (guest orders count
for nobody). Shares are over customers with at least one order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.analytics.history import GUEST, History
from app.mining.baskets import BasketMatrix, encode_baskets
from app.mining.runs import distinct

Int64s = NDArray[np.int64]
Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Holdings:
    """Customer x item incidence; row i is customer `customer[i]` (ascending ids)."""

    matrix: BasketMatrix
    customer: Int64s

    @property
    def n_customers(self) -> int:
        return len(self.customer)

    def holders(self) -> Int64s:
        """Customers holding each item, indexed by item code."""
        counts = np.bincount(self.matrix.indices, minlength=self.matrix.shape[1])
        return counts.astype(np.int64)


@dataclass(frozen=True)
class CoHolding:
    """How the chosen products combine: pairwise and all at once."""

    codes: tuple[int, ...]
    holders: Int64s  # per chosen product
    together: Int64s  # [i, j]: customers holding both i and j (diagonal = holders)
    holding_exactly: Int64s  # [m]: customers holding exactly m of the chosen products
    n_customers: int

    @property
    def share_of_holders(self) -> Floats:
        """[i, j]: share of the holders of product i who also hold product j."""
        return self.together / np.maximum(self.holders, 1)[:, None].astype(np.float64)

    @property
    def share_exactly(self) -> Floats:
        """[m]: share of all customers holding exactly m of the chosen products."""
        return self.holding_exactly / float(max(self.n_customers, 1))


def holdings(history: History) -> Holdings:
    customer = history.order_customer[history.line_order]
    known = customer != GUEST
    ids = distinct(customer[known])
    matrix = encode_baskets(customer[known], history.line_item[known], history.n_items)
    return Holdings(matrix, ids)


def top_by_holders(holdings: Holdings, n: int) -> list[int]:
    """Item codes of the n most held products; ties go to the lower code (SKU order)."""
    counts = holdings.holders()
    order = np.lexsort((np.arange(len(counts)), -counts))
    return [int(code) for code in order[:n] if counts[code] > 0]


def co_holding(holdings: Holdings, codes: list[int]) -> CoHolding:
    chosen = holdings.matrix[:, codes].toarray().astype(np.int64)
    together = chosen.T @ chosen
    exactly = np.bincount(chosen.sum(axis=1), minlength=len(codes) + 1)
    return CoHolding(
        codes=tuple(codes),
        holders=np.diag(together).copy(),
        together=together,
        holding_exactly=exactly.astype(np.int64),
        n_customers=holdings.n_customers,
    )
