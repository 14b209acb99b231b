"""Pure ranking for /next-sale: what to offer a customer after their purchases, and when.

Candidates, from the last purchase of every SKU the customer bought:

- **next sale**: each follow-up B of a purchase A still inside the sequence window
  (today - A's date <= window_days); sent on A's date + B's median delay. B is skipped when
  the customer already holds it: a durable good is not sold twice, and a held consumable
  gets its own rebuy date instead.
- **replenishment**: a consumable the customer bought, due on its last purchase date +
  the median rebuy interval. Its score is the share of holders who rebuy it.

Each SKU keeps its best candidate (score = confidence, or the rebuy share); unavailable
items (inactive, out of stock, unknown) are dropped, and popular items the customer does
not hold fill the remaining places. Dates already past become today: send now.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from app.published.sequences import FollowUp, Purchase, Refill, SequenceEntry
from app.published.snapshot import Popular, ProductFacts

Kind = Literal["next_sale", "replenishment", "popular"]
Strategy = Literal["sequences", "popular", "mixed"]


@dataclass(frozen=True)
class NextSaleOffer:
    sku: str
    kind: Kind
    send_on: date
    score: float
    because: tuple[str, ...] = ()
    follow_up: FollowUp | None = None
    refill: Refill | None = None


@dataclass
class NextSalePlan:
    strategy: Strategy
    offers: list[NextSaleOffer] = field(default_factory=list)
    reason: str | None = None


def last_purchases(purchases: Iterable[Purchase]) -> dict[str, date]:
    """The latest purchase date of every SKU."""
    last: dict[str, date] = {}
    for purchase in purchases:
        if purchase.sku not in last or purchase.on > last[purchase.sku]:
            last[purchase.sku] = purchase.on
    return last


def plan_next_sale(
    purchases: Iterable[Purchase],
    sequences: Mapping[str, SequenceEntry],
    catalog: Mapping[str, ProductFacts],
    popular: Popular,
    today: date,
    limit: int,
    blocked: frozenset[str] = frozenset(),
) -> NextSalePlan:
    """`blocked`: items the shop's merchandising rules forbid, never offered."""
    last = last_purchases(purchases)
    best: dict[str, NextSaleOffer] = {}
    for offer in _candidates(last, sequences, today):
        current = best.get(offer.sku)
        if current is None or (offer.score, current.send_on) > (current.score, offer.send_on):
            best[offer.sku] = offer
    ranked = sorted(best.values(), key=lambda o: (-o.score, o.send_on, o.sku))
    offers = [o for o in ranked if o.sku not in blocked and _available(catalog, o.sku)][:limit]
    found = len(offers)
    taken = {o.sku for o in offers} | blocked
    offers += popular_offers(last, catalog, popular, today, limit - found, taken)
    return NextSalePlan(_strategy(found, len(offers)), offers, _reason(last, found))


def popular_offers(
    held: Mapping[str, date],
    catalog: Mapping[str, ProductFacts],
    popular: Popular,
    today: date,
    limit: int,
    taken: set[str] | None = None,
) -> list[NextSaleOffer]:
    """Popular items in the categories the customer buys, then overall, none they hold."""
    categories = dict.fromkeys(catalog[sku].category for sku in held if sku in catalog)
    candidates = [s for cat in categories for s in popular.by_category.get(cat, ())]
    chosen: list[NextSaleOffer] = []
    seen = set(held) | (taken or set())
    for sku in [*candidates, *popular.overall]:
        if len(chosen) >= limit:
            break
        if sku not in seen and _available(catalog, sku):
            seen.add(sku)
            chosen.append(NextSaleOffer(sku, "popular", today, 0.0))
    return chosen


def _candidates(
    last: Mapping[str, date], sequences: Mapping[str, SequenceEntry], today: date
) -> Iterable[NextSaleOffer]:
    for sku, on in last.items():
        entry = sequences.get(sku)
        if entry is None:
            continue
        if entry.refill is not None:
            due = _after(on, entry.refill.median_days, today)
            yield NextSaleOffer(
                sku, "replenishment", due, entry.refill.repeat_share, (sku,), None, entry.refill
            )
        if (today - on).days > entry.window_days:
            continue  # the customers who follow this purchase up have done so by now
        for follow in entry.follow_ups:
            if follow.sku not in last:
                due = _after(on, follow.median_days, today)
                yield NextSaleOffer(follow.sku, "next_sale", due, follow.confidence, (sku,), follow)


def _after(on: date, days: float, today: date) -> date:
    """Purchase date + typical delay (half days round up), never before today."""
    return max(on + timedelta(days=math.floor(days + 0.5)), today)


def _available(catalog: Mapping[str, ProductFacts], sku: str) -> bool:
    facts = catalog.get(sku)
    return facts is not None and facts.available


def _strategy(from_sequences: int, total: int) -> Strategy:
    if from_sequences == 0:
        return "popular"
    return "sequences" if from_sequences == total else "mixed"


def _reason(last: Mapping[str, date], found: int) -> str | None:
    if found:
        return None
    if not last:
        return "no purchases to follow up: popular items instead"
    return "no sequence or rebuy pattern fits these purchases: popular items instead"
