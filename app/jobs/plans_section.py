"""Publish the plan ladder with the observed plan-to-plan conversion rates of its customers.

Conversion A -> B is the share of customers on A (in the run's window) who
moved straight to B within CONVERSION_DAYS of joining A. A later move still
counts the customer in A's base, as someone who did not convert in time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import models
from app.jobs.section_context import Entry, SectionContext
from app.logs import get_logger
from app.offers import Plan, PlanCatalog, PlanChange, conversion_rates
from app.published import keys
from app.published.plans import encode_plans

log = get_logger(__name__)

CONVERSION_DAYS = 30
# A new plan starting this soon after the previous one ended is a switch, not a new signup:
# billing systems often close a period at 23:59 and open the next one the following day.
SWITCH_GAP = timedelta(days=1)
# A plans.csv column of this name sets the plan's own trigger threshold, not a quota.
TRIGGER_RATIO_COLUMN = "trigger_ratio"


@dataclass(frozen=True, slots=True)
class Period:
    """One row of subscription history."""

    customer_id: str
    plan_id: str
    started_at: datetime
    ended_at: datetime | None


async def plans_section(engine: AsyncEngine, context: SectionContext) -> list[Entry]:
    """The `plans` entry: every plan, retired ones included, with conversion evidence."""
    plans = await read_plans(engine)
    periods = await read_periods(engine)
    changes = plan_changes(periods, timedelta(days=CONVERSION_DAYS))
    rates = conversion_rates(changes, since=context.since, until=context.now)
    return [(keys.PLANS, encode_plans(PlanCatalog(tuple(plans), rates)))]


async def read_plans(engine: AsyncEngine) -> list[Plan]:
    """Plans by tier; a plan the offers core rejects is logged and left out, not fatal."""
    statement = select(models.Plan).order_by(models.Plan.tier, models.Plan.plan_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(statement)).all()
    plans = []
    for row in rows:
        try:
            plans.append(_plan(row))
        except (ValueError, TypeError) as error:
            log.warning("plan_skipped", plan=row.plan_id, error=str(error))
    return plans


async def read_periods(engine: AsyncEngine) -> list[Period]:
    """Subscription history ordered by customer, then start."""
    statement = (
        select(
            models.Customer.external_id,
            models.Plan.plan_id,
            models.Subscription.started_at,
            models.Subscription.ended_at,
        )
        .join(models.Customer, models.Customer.id == models.Subscription.customer_id)
        .join(models.Plan, models.Plan.id == models.Subscription.plan_id)
        .order_by(models.Subscription.customer_id, models.Subscription.started_at)
    )
    async with engine.connect() as conn:
        rows = await conn.stream(statement)
        return [
            Period(str(customer), str(plan), _aware(started), _aware(ended) if ended else None)
            async for customer, plan, started, ended in rows
        ]


def plan_changes(periods: Iterable[Period], window: timedelta) -> Iterator[PlanChange]:
    """Signups, switches and cancellations, per customer in time order.

    A switch made more than `window` after joining the old plan becomes a
    cancellation plus a signup at the same moment, so it is no conversion.
    `periods` must be grouped by customer and ordered by start within each.
    """
    previous: Period | None = None
    joined = datetime.min.replace(tzinfo=UTC)  # when the customer joined previous.plan_id
    for period in periods:
        if previous is None or not _continues(previous, period):
            yield from _closing(previous)
            yield PlanChange(period.customer_id, None, period.plan_id, period.started_at)
            joined = period.started_at
        elif previous.plan_id != period.plan_id:
            yield from _switch(previous, period, period.started_at - joined <= window)
            joined = period.started_at
        previous = period
    yield from _closing(previous)


def _switch(previous: Period, period: Period, in_time: bool) -> list[PlanChange]:
    customer, at = period.customer_id, period.started_at
    if in_time:
        return [PlanChange(customer, previous.plan_id, period.plan_id, at)]
    return [
        PlanChange(customer, previous.plan_id, None, at),
        PlanChange(customer, None, period.plan_id, at),
    ]


def _continues(previous: Period, period: Period) -> bool:
    """Same customer, and the new period starts where the previous one ends."""
    if previous.customer_id != period.customer_id:
        return False
    return previous.ended_at is None or period.started_at - previous.ended_at <= SWITCH_GAP


def _closing(period: Period | None) -> list[PlanChange]:
    if period is None or period.ended_at is None:
        return []
    return [PlanChange(period.customer_id, period.plan_id, None, period.ended_at)]


def _plan(row: Any) -> Plan:
    quotas: Mapping[str, Any] = row.quotas or {}
    ratio = quotas.get(TRIGGER_RATIO_COLUMN)
    return Plan(
        plan_id=str(row.plan_id),
        name=str(row.name),
        tier=int(row.tier),
        monthly_price=Decimal(str(row.monthly_price)),
        quotas=_quotas(quotas),
        active=bool(row.active),
        currency=row.currency or "EUR",
        trigger_ratio=None if ratio is None else float(ratio),
    )


def _quotas(raw: Mapping[str, Any]) -> dict[str, float]:
    """null is unlimited; zero or less means the plan does not offer the resource."""
    quotas = {}
    for resource, value in raw.items():
        if resource == TRIGGER_RATIO_COLUMN:
            continue
        quota = math.inf if value is None else float(value)
        if quota > 0:
            quotas[resource] = quota
    return quotas


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every timestamp is stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
