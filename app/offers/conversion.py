"""Observed plan-to-plan conversion rates from subscription change histories."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

CustomerId = str | int


@dataclass(frozen=True, slots=True)
class PlanChange:
    """One customer moving between plans; None means "no plan" (signup or cancellation)."""

    customer_id: CustomerId
    from_plan: str | None
    to_plan: str | None
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class ConversionRate:
    """`moved` of `base` customers on the source plan moved to the target plan."""

    rate: float
    moved: int
    base: int


@dataclass(frozen=True, slots=True)
class _Stint:
    plan: str
    start: datetime | None  # None: began before the recorded history
    end: datetime | None  # None: still on the plan


def conversion_rates(
    transitions: Iterable[PlanChange],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[tuple[str, str], ConversionRate]:
    """Rate of direct moves A -> B among customers who were on A, per (A, B).

    The observation window is [since, until); either bound may be open.
    - base(A): distinct customers whose time on A overlaps the window. Time on A
      runs from the change that put them on A (or the start of their history)
      to the change that took them off A (or forever). Leaving A exactly at
      `since` still counts, so every mover is in the base.
    - moved(A, B): distinct customers with a change A -> B inside the window.
    - rate = moved / base, in [0, 1].
    Customers are counted once however often they repeat a stint or a move.
    Only pairs with at least one move are returned; a missing pair means no
    observed move. Each customer's changes are ordered by `changed_at`
    (ties keep input order); all datetimes must be all naive or all aware.
    """
    by_customer: dict[CustomerId, list[PlanChange]] = defaultdict(list)
    for change in transitions:
        by_customer[change.customer_id].append(change)
    bases: dict[str, set[CustomerId]] = defaultdict(set)
    movers: dict[tuple[str, str], set[CustomerId]] = defaultdict(set)
    for customer, changes in by_customer.items():
        changes.sort(key=lambda change: change.changed_at)
        for stint in _stints(changes):
            if _overlaps(stint, since, until):
                bases[stint.plan].add(customer)
        for change in changes:
            pair = _move(change)
            if pair is not None and _inside(change.changed_at, since, until):
                movers[pair].add(customer)
    return {
        pair: ConversionRate(len(who) / len(bases[pair[0]]), len(who), len(bases[pair[0]]))
        for pair, who in sorted(movers.items())
    }


def _stints(changes: Sequence[PlanChange]) -> Iterator[_Stint]:
    started: datetime | None = None
    for change in changes:
        if change.from_plan is not None:
            yield _Stint(change.from_plan, started, change.changed_at)
        started = change.changed_at
    last = changes[-1]
    if last.to_plan is not None:
        yield _Stint(last.to_plan, last.changed_at, None)


def _move(change: PlanChange) -> tuple[str, str] | None:
    source, target = change.from_plan, change.to_plan
    if source is None or target is None or source == target:
        return None
    return source, target


def _overlaps(stint: _Stint, since: datetime | None, until: datetime | None) -> bool:
    # Closed at `since` so that a move made exactly at `since` keeps its mover in the base.
    began_in_time = stint.start is None or until is None or stint.start < until
    lasted_long_enough = stint.end is None or since is None or stint.end >= since
    return began_in_time and lasted_long_enough


def _inside(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or moment >= since) and (until is None or moment < until)
