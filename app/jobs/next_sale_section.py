"""Publish sequential rules per antecedent and each customer's recent purchases for /next-sale.

Size: one `cust:` entry per customer who ordered in the run's window, holding their last
CUSTOMER_PURCHASES distinct SKUs and, embedded, the best CUSTOMER_FOLLOW_UPS sequences of
each, so GET /next-sale needs a single store read. On the demo that is 0.5 KB a customer
on average and 2 KB at most: 5 MB for its 10,000 customers. A shop with millions of
customers should rebuild with `--since` (e.g. 365d), which bounds these entries to the
recently active customers (those a next-sale mailing can still reach).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncEngine

from app.analytics.history import History
from app.jobs.section_context import Entry, SectionContext
from app.jobs.sources import read_history
from app.mining.runs import run_starts
from app.mining.sequences import (
    Replenishment,
    SequenceParams,
    SequenceTable,
    mine_events,
)
from app.published import keys
from app.published.sequences import (
    FollowUp,
    Refill,
    SequenceEntry,
    encode_customer_days,
    encode_sequence,
)

CUSTOMER_PURCHASES = 8
CUSTOMER_FOLLOW_UPS = 5
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


async def next_sale_section(engine: AsyncEngine, context: SectionContext) -> NextSaleEntries:
    """`seq:{sku}` for every antecedent or consumable, `cust:{id}` for every customer."""
    history = context.history.take() or await read_history(engine, context.since, amounts=False)
    recent, skus = recent_purchases(history, CUSTOMER_PURCHASES), history.skus
    # Preparing and mining are the peaks: only what they read may be held then.
    events = history.events()
    del history
    params = SequenceParams()
    table, refills = mine_events(events, params)
    del events
    return next_sale_entries(table, refills, skus, recent, params.window_days)


def next_sale_entries(
    table: SequenceTable,
    refills: Replenishment,
    skus: tuple[str, ...],
    recent: RecentPurchases,
    window_days: int,
) -> NextSaleEntries:
    by_sku = sequence_entries(table, refills, skus, window_days)
    return NextSaleEntries(
        [(keys.sequence_rules(sku), encode_sequence(e)) for sku, e in by_sku.items()],
        {
            sku: encode_sequence(replace(e, follow_ups=e.follow_ups[:CUSTOMER_FOLLOW_UPS]))
            for sku, e in by_sku.items()
        },
        recent,
    )


class NextSaleEntries:
    """The section's entries in name order, customer entries encoded one at a time as they
    are read: all of them at once would be most of a rebuild's memory."""

    def __init__(
        self, sequences: list[Entry], short: dict[str, bytes], recent: RecentPurchases
    ) -> None:
        self._sequences, self._short, self._recent = sequences, short, recent

    def __len__(self) -> int:
        return len(self._sequences) + len(self._recent.names)

    def __iter__(self) -> Iterator[Entry]:
        return heapq.merge(self._customers(), iter(self._sequences))

    def _customers(self) -> Iterator[Entry]:
        recent, short = self._recent, self._short
        for name, low, high in recent.by_name():
            bought = list(zip(recent.skus[low:high], recent.dates[low:high], strict=True))
            embedded = {sku: short[sku] for sku, _ in bought if sku in short}
            yield keys.customer_purchases(name), encode_customer_days(bought, embedded)


def sequence_entries(
    table: SequenceTable, refills: Replenishment, skus: tuple[str, ...], window_days: int
) -> dict[str, SequenceEntry]:
    """One entry per SKU that has follow-ups or is a consumable, sorted by SKU."""
    follow_ups: dict[str, list[FollowUp]] = {}
    rows = zip(
        table.antecedent.tolist(),
        table.consequent.tolist(),
        table.count.tolist(),
        table.support.tolist(),
        table.confidence.tolist(),
        table.lift.tolist(),
        table.delays.median.tolist(),
        table.delays.q1.tolist(),
        table.delays.q3.tolist(),
        strict=True,
    )
    for a, b, count, support, confidence, lift, median, q1, q3 in rows:
        follow_ups.setdefault(skus[a], []).append(
            FollowUp(skus[b], count, support, confidence, lift, median, q1, q3)
        )
    refill = {
        skus[item]: Refill(median, q1, q3, repeaters, share)
        for item, median, q1, q3, repeaters, share in zip(
            refills.item.tolist(),
            refills.delays.median.tolist(),
            refills.delays.q1.tolist(),
            refills.delays.q3.tolist(),
            refills.repeaters.tolist(),
            refills.repeat_share.tolist(),
            strict=True,
        )
    }
    return {
        sku: SequenceEntry(window_days, tuple(follow_ups.get(sku, ())), refill.get(sku))
        for sku in sorted(set(follow_ups) | set(refill))
    }


@dataclass(frozen=True)
class RecentPurchases:
    """Rows low..high-1 of `skus` and `dates` (ISO) are the purchases of customer `names[k]`,
    with low, high = bounds[k], bounds[k + 1]: newest first, then by SKU code."""

    names: list[str]
    bounds: list[int]
    skus: list[str]
    dates: list[str]

    def by_name(self) -> Iterator[tuple[str, int, int]]:
        """(name, low, high) per customer in name order, as the checksum sorts entries."""
        names, bounds = self.names, self.bounds
        for k in sorted(range(len(names)), key=names.__getitem__):
            yield names[k], bounds[k], bounds[k + 1]


def recent_purchases(history: History, per_customer: int) -> RecentPurchases:
    """Per customer (ascending id): (sku, ISO date) of the last purchase of their most
    recent distinct SKUs, newest first. Vectorised: keys packed by shifts and plain sorts,
    then one pass over the kept rows only."""
    customer, item, day = history.last_purchases()
    first_day = int(day.min()) if len(day) else 0
    days = int(day.max()) - first_day + 1 if len(day) else 1
    item_bits, day_bits = _bits(history.n_items), _bits(days)
    ids = customer[run_starts(customer)]  # customers come sorted
    who = np.cumsum(np.append(False, customer[1:] != customer[:-1]))  # index into ids
    del customer
    # Newest first within each customer, then by SKU code; keep the first `per_customer`.
    age = days - 1 - (day - first_day)
    # Sorted by customer already: timsort (kind="stable") only reorders within each one.
    keys = np.sort((who << (day_bits + item_bits)) | (age << item_bits) | item, kind="stable")
    del who, age, day, item
    who = keys >> (day_bits + item_bits)
    opens = run_starts(who)
    rank = np.arange(len(keys)) - np.repeat(opens, np.diff(np.append(opens, len(keys))))
    kept = rank < per_customer
    del opens, rank
    keys, who = keys[kept], who[kept]
    item = keys & ((1 << item_bits) - 1)
    day = days - 1 - ((keys >> item_bits) & ((1 << day_bits) - 1))  # from first_day
    del keys
    # Object arrays turn codes into strings in one take, not one Python lookup per row.
    skus = np.array(history.skus, dtype=object)[item].tolist()
    dates = _iso_dates(first_day, days, day)[day].tolist()
    starts = run_starts(who)
    name_of = history.customer_names.get
    customers = [name_of(c, str(c)) for c in ids[who[starts]].tolist()]
    return RecentPurchases(customers, [*starts.tolist(), len(who)], skus, dates)


def _iso_dates(first_day: int, days: int, used: NDArray[np.int64]) -> NDArray[np.object_]:
    """ISO date of first_day + k at index k, for the k that occur in `used`."""
    table = np.empty(days, dtype=object)
    present = np.zeros(days, np.bool_)
    present[used] = True
    table[present] = [_date(first_day + k).isoformat() for k in np.flatnonzero(present).tolist()]
    return table


def _bits(values: int) -> int:
    """Bits that hold 0 .. values - 1."""
    return max(values - 1, 0).bit_length()


def _date(day: int) -> date:
    return date.fromordinal(EPOCH_ORDINAL + day)
