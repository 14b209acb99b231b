"""Next-sale mailings due on one day, for a mail tool to pick up (`campaign next-sale --on`).

The same timing as GET /next-sale, computed for every customer at once: from the last
purchase of each SKU a customer bought,

- a follow-up B of A is due on A's date + B's median delay (half days round up), unless
  the customer holds B already;
- a consumable A is due again on A's date + its median rebuy interval.

A SKU due twice for one customer keeps its best reason (higher confidence or rebuy share).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from app.analytics.history import History
from app.mining.sequences import Replenishment, SequenceTable

Int64s = NDArray[np.int64]
Floats = NDArray[np.float64]
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class DueRow:
    customer_id: str
    sku: str
    send_on: date
    kind: str  # next_sale | replenishment
    because: str
    score: float
    reason: str


@dataclass(frozen=True)
class _LastPurchases:
    """Last purchase day of every (customer, item), sorted by (item, day)."""

    customer: Int64s
    item: Int64s
    day: Int64s

    def on(self, items: Int64s, days: Int64s) -> tuple[Int64s, Int64s]:
        """(query index, row) for every row whose item and day match a query."""
        span = int(max(self.day.max(initial=0), days.max(initial=0))) + 1
        keys = self.item * span + self.day
        wanted = items * span + days
        low, high = np.searchsorted(keys, wanted), np.searchsorted(keys, wanted, side="right")
        lengths = high - low
        query = np.repeat(np.arange(len(wanted), dtype=np.int64), lengths)
        offsets = np.arange(len(query)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return query, (np.repeat(low, lengths) + offsets).astype(np.int64)

    def holds(self, customers: Int64s, items: Int64s, n_items: int) -> NDArray[np.bool_]:
        keys = np.sort(self.customer * n_items + self.item)
        wanted = customers * n_items + items
        found = np.searchsorted(keys, wanted)
        held: NDArray[np.bool_] = (found < len(keys)) & (
            keys[np.minimum(found, max(len(keys) - 1, 0))] == wanted
        )
        return held


def due_on(
    history: History,
    sequences: SequenceTable,
    refills: Replenishment,
    day: date,
    available: Collection[str],
    min_score: float = 0.0,
) -> list[DueRow]:
    """Rows due on `day` scoring at least `min_score`, one per (customer, SKU).

    Ordered by customer id, then score (confidence, or the rebuy share) descending.
    """
    last = _last_purchases(history)
    target = day.toordinal() - EPOCH_ORDINAL
    found = [
        *_follow_ups_due(history, last, sequences, target),
        *_refills_due(history, last, refills, target),
    ]
    best: dict[tuple[int, str], DueRow] = {}
    for customer, row in found:
        key = (customer, row.sku)
        if row.score < min_score or row.sku not in available:
            continue
        if key not in best or row.score > best[key].score:
            best[key] = row
    return [best[key] for key in sorted(best, key=lambda k: (k[0], -best[k].score, k[1]))]


def _last_purchases(history: History) -> _LastPurchases:
    customer, item, day = history.last_purchases()
    order = np.lexsort((day, item))
    return _LastPurchases(customer[order], item[order], day[order])


def _delay(days: Floats) -> Int64s:
    """Half days round up, as in the API."""
    rounded: Int64s = np.floor(days + 0.5).astype(np.int64)
    return rounded


def _follow_ups_due(
    history: History, last: _LastPurchases, table: SequenceTable, target: int
) -> list[tuple[int, DueRow]]:
    delay = _delay(table.delays.median)
    rule, row = last.on(table.antecedent.astype(np.int64), target - delay)
    customers, offer = last.customer[row], table.consequent[rule].astype(np.int64)
    fresh = ~last.holds(customers, offer, history.n_items)
    confidence = table.confidence
    found = []
    for k, r in zip(rule[fresh].tolist(), row[fresh].tolist(), strict=True):
        a, b, days = history.skus[table.antecedent[k]], history.skus[table.consequent[k]], delay[k]
        reason = (
            f"bought {a} on {_date(int(last.day[r]))}; {round(confidence[k] * 100)} % of its "
            f"buyers buy {b} next, typically {days} days later"
        )
        customer = int(last.customer[r])
        name, when = history.name_of(customer), _date(target)
        due_row = DueRow(name, b, when, "next_sale", a, float(confidence[k]), reason)
        found.append((customer, due_row))
    return found


def _refills_due(
    history: History, last: _LastPurchases, refills: Replenishment, target: int
) -> list[tuple[int, DueRow]]:
    delay = _delay(refills.delays.median)
    refill, row = last.on(refills.item.astype(np.int64), target - delay)
    share = refills.repeat_share
    found = []
    for k, r in zip(refill.tolist(), row.tolist(), strict=True):
        sku, days = history.skus[refills.item[k]], delay[k]
        reason = (
            f"bought {sku} on {_date(int(last.day[r]))}; {round(share[k] * 100)} % of its "
            f"buyers rebuy it, typically every {days} days"
        )
        customer = int(last.customer[r])
        name, when = history.name_of(customer), _date(target)
        due_row = DueRow(name, sku, when, "replenishment", sku, float(share[k]), reason)
        found.append((customer, due_row))
    return found


def _date(day: int) -> date:
    return date.fromordinal(EPOCH_ORDINAL + day)
