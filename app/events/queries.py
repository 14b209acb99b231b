"""Read exposures and purchases back from the database for the experiment report."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.models import Event, EventLine, Exposure
from app.events.attribution import DAY, Purchase, Shown, attributed_revenue

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


PurchaseRow = Row[str, str, str | None, datetime, str, int, Decimal]
_PURCHASE_LINES = (
    select(
        Event.event_id,
        Event.unit,
        Event.order_id,
        Event.at,
        EventLine.sku,
        EventLine.quantity,
        EventLine.unit_price,
    )
    .join(EventLine, EventLine.event_id == Event.event_id)
    .where(Event.type == "purchase")
)


async def load_purchases(
    engine: AsyncEngine, since: datetime | None, until: datetime | None
) -> list[Purchase]:
    """Purchases from PRE_DAYS before `since` (the covariate) up to `until`."""
    query = _PURCHASE_LINES
    if since is not None:
        query = query.where(Event.at >= since - timedelta(seconds=PRE_DAYS * DAY))
    if until is not None:
        query = query.where(Event.at < until)
    async with engine.connect() as conn:
        return _purchases((await conn.execute(query)).all())


async def drained_attributed_revenue(
    engine: AsyncEngine, event_ids: Sequence[str], attribution_hours: float
) -> float:
    """Attributed revenue of purchases just drained, against the exposures stored so far.

    An exposure drained after its purchase (its worker flushed late) is missed here; the
    report, which reads everything at once, counts it.
    """
    if not event_ids:
        return 0.0
    async with engine.connect() as conn:
        purchases: list[Purchase] = []
        for start in range(0, len(event_ids), 500):  # SQLite caps a statement's variables
            chunk = event_ids[start : start + 500]
            found = await conn.execute(_PURCHASE_LINES.where(Event.event_id.in_(chunk)))
            purchases.extend(_purchases(found.all()))
        shown = await _shown_before(conn, purchases, attribution_hours * 3600)
    return attributed_revenue(purchases, shown, attribution_hours)


async def _shown_before(
    conn: AsyncConnection, purchases: list[Purchase], window: float
) -> list[Shown]:
    if not purchases:
        return []
    units = sorted({purchase.unit for purchase in purchases})
    first = datetime.fromtimestamp(min(p.at for p in purchases) - window, UTC)
    last = datetime.fromtimestamp(max(p.at for p in purchases), UTC)
    shown: list[Shown] = []
    for start in range(0, len(units), 500):
        query = select(Exposure.unit, Exposure.variant, Exposure.at, Exposure.skus).where(
            Exposure.unit.in_(units[start : start + 500]), Exposure.at.between(first, last)
        )
        rows = (await conn.execute(query)).all()
        shown.extend(
            Shown(unit, variant, _epoch(at), tuple(skus)) for unit, variant, at, skus in rows
        )
    return shown


def _purchases(rows: Sequence[PurchaseRow]) -> list[Purchase]:
    lines: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    heads: dict[str, tuple[str, str, float]] = {}
    for event_id, unit, order_id, at, sku, quantity, price in rows:
        heads[event_id] = (unit, order_id or event_id, _epoch(at))
        lines[event_id].append((sku, float(quantity), float(price)))
    return [
        Purchase(unit, order, at, tuple(lines[event_id]))
        for event_id, (unit, order, at) in heads.items()
    ]


def _epoch(moment: datetime) -> float:
    # SQLite hands back naive datetimes; they were written in UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
