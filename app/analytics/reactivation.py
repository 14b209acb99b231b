"""Reactivation: below-average customers who hold X but lack Y, though X holders mostly have Y.

Rules are mined in customer scope (everything a customer ever bought is one basket) with
one-item antecedents. For every customer whose average ticket is below `below` times the
portfolio's, each strong rule X -> Y with X held and Y not held is a candidate offer:

- propensity = confidence - s(Y) = P(Y | X) - P(Y): how much likelier X holders are to
  hold Y than customers at large. It is confidence x (1 - 1/lift), so a rule whose
  consequent is merely popular (lift near 1) scores near 0 however high its confidence.
- expected value = propensity x Y's price.

Each customer gets their single best offer by expected value (then confidence, then
SKU); rows come ordered by expected value, highest first.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.analytics.history import History
from app.analytics.holding import Holdings
from app.analytics.tickets import Tickets
from app.mining.rules import RuleTable, mine_rules, thresholds_from
from app.mining.thresholds import DecimalLike

Int64s = NDArray[np.int64]


@dataclass(frozen=True)
class ReactivationParams:
    below: float = 1.0  # customers under below x portfolio average ticket
    min_confidence: DecimalLike = "0.3"
    min_lift: DecimalLike = "1.2"
    min_count: int = 10  # customers holding X and Y


@dataclass(frozen=True)
class ReactivationRow:
    customer_id: str
    average_ticket: float
    gap_to_average: float
    offer_sku: str
    antecedent_sku: str
    confidence: float
    lift: float
    propensity: float
    expected_value: float
    message: str


def customer_rules(holdings: Holdings, params: ReactivationParams) -> RuleTable:
    thresholds = thresholds_from(
        n_baskets=max(holdings.n_customers, 1),
        min_count=params.min_count,
        min_confidence=params.min_confidence,
        min_lift=params.min_lift,
        top_n=None,
        max_antecedent=1,
    )
    return mine_rules(holdings.matrix, thresholds)


def reactivation_targets(
    history: History,
    holdings: Holdings,
    tickets: Tickets,
    prices: Mapping[str, float | None],
    available: Collection[str],
    params: ReactivationParams,
) -> list[ReactivationRow]:
    rules = _offerable(customer_rules(holdings, params), history.skus, available)
    average = tickets.average[tickets.of(holdings.customer)]  # per holdings row
    rows, rule = _candidates(
        holdings, rules, np.flatnonzero(average < params.below * tickets.portfolio_average)
    )
    confidence = rules.confidence[rule]
    price = np.array([prices.get(sku) or 0.0 for sku in history.skus])[rules.consequent[rule]]
    propensity = confidence - rules.consequent_count[rule] / float(rules.n_baskets)
    value = propensity * price
    pick = np.lexsort((rules.consequent[rule], -confidence, -value, rows))
    best = pick[np.concatenate(([True], rows[pick][1:] != rows[pick][:-1]))] if len(pick) else pick
    best = best[np.lexsort((holdings.customer[rows[best]], -value[best]))]
    row, rule = rows[best], rule[best]
    columns = zip(
        holdings.customer[row].tolist(),
        average[row].tolist(),
        rules.antecedent[rule, 0].tolist(),
        rules.consequent[rule].tolist(),
        confidence[best].tolist(),
        rules.lift[rule].tolist(),
        propensity[best].tolist(),
        value[best].tolist(),
        strict=True,
    )
    return [_row(history, tickets.portfolio_average, *column) for column in columns]


def _offerable(rules: RuleTable, skus: tuple[str, ...], available: Collection[str]) -> RuleTable:
    keep = np.array([skus[c] in available for c in rules.consequent.tolist()], dtype=np.bool_)
    return RuleTable(
        rules.antecedent[keep],
        rules.consequent[keep],
        rules.count[keep],
        rules.antecedent_count[keep],
        rules.consequent_count[keep],
        rules.n_baskets,
    )


def _candidates(holdings: Holdings, rules: RuleTable, targets: Int64s) -> tuple[Int64s, Int64s]:
    """(customer row, rule) for every target customer holding X and lacking Y."""
    by_item = holdings.matrix.tocsc()
    is_target = np.zeros(holdings.n_customers, dtype=np.bool_)
    is_target[targets] = True
    first = rules.antecedent[:, 0]
    starts, ends = by_item.indptr[first], by_item.indptr[first + 1]
    lengths = (ends - starts).astype(np.int64)
    rule = np.repeat(np.arange(len(rules), dtype=np.int64), lengths)
    offsets = np.arange(len(rule)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    rows = by_item.indices[np.repeat(starts, lengths) + offsets].astype(np.int64)
    keep = is_target[rows]
    rows, rule = rows[keep], rule[keep]
    held = _holds(holdings, rows, rules.consequent[rule].astype(np.int64))
    return rows[~held], rule[~held]


def _holds(holdings: Holdings, rows: Int64s, items: Int64s) -> NDArray[np.bool_]:
    matrix = holdings.matrix
    n = matrix.shape[1]
    owner = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    keys = owner * n + matrix.indices  # sorted: CSR rows in order, columns sorted within
    wanted = rows * n + items
    if len(keys) == 0:
        return np.zeros(len(wanted), dtype=np.bool_)
    found = np.searchsorted(keys, wanted)
    held: NDArray[np.bool_] = (found < len(keys)) & (
        keys[np.minimum(found, len(keys) - 1)] == wanted
    )
    return held


def _row(
    history: History,
    portfolio: float,
    customer: int,
    average: float,
    antecedent: int,
    offer: int,
    confidence: float,
    lift: float,
    propensity: float,
    value: float,
) -> ReactivationRow:
    x, y = history.skus[antecedent], history.skus[offer]
    return ReactivationRow(
        customer_id=history.name_of(customer),
        average_ticket=round(average, 2),
        gap_to_average=round(portfolio - average, 2),
        offer_sku=y,
        antecedent_sku=x,
        confidence=round(confidence, 4),
        lift=round(lift, 4),
        propensity=round(propensity, 4),
        expected_value=round(value, 2),
        message=f"{round(confidence * 100)} % of customers who hold {x} also hold {y}",
    )
