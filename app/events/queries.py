"""Read exposures and purchases back from the database for the experiment report."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import Event, EventLine, Exposure
from app.events.attribution import DAY, Purchase, Shown

PRE_DAYS = 30.0  # the CUPED covariate: spend in the 30 days before a unit's first exposure


async def load_exposures(
    engine: AsyncEngine, since: datetime | None, until: datetime | None
) -> list[Shown]:
    query = select(Exposure.unit, Exposure.variant, Exposure.at, Exposure.skus).where(
        Exposure.variant.in_(("treatment", "control"))
    )
    if since is not None:
        query = query.where(Exposure.at >= since)
    if until is not None:
        query = query.where(Exposure.at < until)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [Shown(unit, variant, _epoch(at), tuple(skus)) for unit, variant, at, skus in rows]


async def load_purchases(
    engine: AsyncEngine, since: datetime | None, until: datetime | None
) -> list[Purchase]:
    """Purchases from PRE_DAYS before `since` (the covariate) up to `until`."""
    query = (
        select(Event.event_id, Event.unit, Event.order_id, Event.at, EventLine.sku,
               EventLine.quantity, EventLine.unit_price)
        .join(EventLine, EventLine.event_id == Event.event_id)
        .where(Event.type == "purchase")
    )  # fmt: skip
    if since is not None:
        query = query.where(Event.at >= since - timedelta(seconds=PRE_DAYS * DAY))
    if until is not None:
        query = query.where(Event.at < until)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    lines: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    heads: dict[str, tuple[str, str, float]] = {}
    for event_id, unit, order_id, at, sku, quantity, price in rows:
        heads[event_id] = (unit, order_id or event_id, _epoch(at))
        lines[event_id].append((sku, float(quantity), float(price)))
    return [Purchase(unit, order, at, tuple(lines[event_id]))
            for event_id, (unit, order, at) in heads.items()]  # fmt: skip


def _epoch(moment: datetime) -> float:
    # SQLite hands back naive datetimes; they were written in UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
