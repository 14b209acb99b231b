"""Publish sequential rules per antecedent and each customer's recent purchases for /next-sale.

Size: one `cust:` entry per customer who ordered in the run's window, holding their last
CUSTOMER_PURCHASES distinct SKUs and, embedded, the best CUSTOMER_FOLLOW_UPS sequences of
each, so GET /next-sale needs a single store read. On the demo that is 0.5 KB a customer
on average and 2 KB at most: 5 MB for its 10,000 customers. A shop with millions of
customers should rebuild with `--since` (e.g. 365d), which bounds these entries to the
recently active customers (those a next-sale mailing can still reach).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.ext.asyncio import AsyncEngine

from app.analytics.history import GUEST, History
from app.jobs.history import read_history
from app.mining.sequences import (
    SECONDS_PER_DAY,
    Replenishment,
    SequenceParams,
    SequenceTable,
    mine_replenishment,
    mine_sequences,
)
from app.serving.sequence_entries import (
    FollowUp,
    Purchase,
    Refill,
    SequenceEntry,
    encode_customer,
    encode_sequence,
)
from app.store import keys

if TYPE_CHECKING:  # sections.py registers this module, so only the types are imported
    from app.jobs.sections import Entry, SectionContext

CUSTOMER_PURCHASES = 8
CUSTOMER_FOLLOW_UPS = 5
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


async def next_sale_section(engine: AsyncEngine, context: SectionContext) -> list[Entry]:
    """`seq:{sku}` for every antecedent or consumable, `cust:{id}` for every customer."""
    history = await read_history(engine, context.since)
    return next_sale_entries(history, SequenceParams())


def next_sale_entries(history: History, params: SequenceParams) -> list[Entry]:
    purchases = history.purchases()
    by_sku = sequence_entries(
        mine_sequences(purchases, params), mine_replenishment(purchases, params),
        history.skus, params.window_days,
    )  # fmt: skip
    entries = [(keys.sequence_rules(sku), encode_sequence(e)) for sku, e in by_sku.items()]
    short = {
        sku: encode_sequence(replace(e, follow_ups=e.follow_ups[:CUSTOMER_FOLLOW_UPS]))
        for sku, e in by_sku.items()
    }
    for customer, bought in recent_purchases(history, CUSTOMER_PURCHASES):
        embedded = {p.sku: short[p.sku] for p in bought if p.sku in short}
        entries.append(
            (keys.customer_purchases(history.name_of(customer)), encode_customer(bought, embedded))
        )
    return entries


def sequence_entries(
    table: SequenceTable, refills: Replenishment, skus: tuple[str, ...], window_days: int
) -> dict[str, SequenceEntry]:
    """One entry per SKU that has follow-ups or is a consumable, sorted by SKU."""
    follow_ups: dict[str, list[FollowUp]] = {}
    rows = zip(
        table.antecedent.tolist(), table.consequent.tolist(), table.count.tolist(),
        table.support.tolist(), table.confidence.tolist(), table.lift.tolist(),
        table.delays.median.tolist(), table.delays.q1.tolist(), table.delays.q3.tolist(),
        strict=True,
    )  # fmt: skip
    for a, b, count, support, confidence, lift, median, q1, q3 in rows:
        follow_ups.setdefault(skus[a], []).append(
            FollowUp(skus[b], count, support, confidence, lift, median, q1, q3)
        )
    refill = {
        skus[item]: Refill(median, q1, q3, repeaters, share)
        for item, median, q1, q3, repeaters, share in zip(
            refills.item.tolist(), refills.delays.median.tolist(), refills.delays.q1.tolist(),
            refills.delays.q3.tolist(), refills.repeaters.tolist(), refills.repeat_share.tolist(),
            strict=True,
        )
    }  # fmt: skip
    return {
        sku: SequenceEntry(window_days, tuple(follow_ups.get(sku, ())), refill.get(sku))
        for sku in sorted(set(follow_ups) | set(refill))
    }


def recent_purchases(history: History, per_customer: int) -> list[tuple[int, list[Purchase]]]:
    """Per customer (ascending id), the last purchase of their most recent distinct SKUs."""
    customer = history.order_customer[history.line_order]
    known = customer != GUEST
    customer, item = customer[known], history.line_item[known]
    at = history.order_at[history.line_order][known]
    order = np.lexsort((-at, item, customer))
    customer, item, at = customer[order], item[order], at[order]
    last = np.ones(len(item), dtype=np.bool_)
    last[1:] = (customer[1:] != customer[:-1]) | (item[1:] != item[:-1])
    customer, item, at = customer[last], item[last], at[last]
    order = np.lexsort((item, -at, customer))
    customer, item, day = customer[order], item[order], at[order] // SECONDS_PER_DAY
    found: list[tuple[int, list[Purchase]]] = []
    for who, code, on in zip(customer.tolist(), item.tolist(), day.tolist(), strict=True):
        if not found or found[-1][0] != who:
            found.append((who, []))
        if len(found[-1][1]) < per_customer:
            found[-1][1].append(Purchase(history.skus[code], _date(on)))
    return found


def _date(day: int) -> date:
    return date.fromordinal(EPOCH_ORDINAL + day)
