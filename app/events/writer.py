"""Write one drain batch in one transaction: COPY on Postgres, plain inserts on SQLite."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import insert, select, text
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.models import Event, EventLine, Exposure, UpgradeOutcome
from app.events.rows import (
    EVENT_COLUMNS,
    EXPOSURE_COLUMNS,
    LINE_COLUMNS,
    OUTCOME_COLUMNS,
    Rows,
)

# The lines of an event already stored are never added again: they join the events
# this statement inserted, so a resent purchase cannot grow an order. It answers the
# purchases it inserted (Postgres runs a data-modifying WITH whether or not it is read).
_MOVE_EVENTS = """
WITH new AS (
    INSERT INTO events SELECT * FROM drain_events ON CONFLICT DO NOTHING
    RETURNING event_id, type
), moved AS (
    INSERT INTO event_lines SELECT l.* FROM drain_event_lines l JOIN new USING (event_id)
    ON CONFLICT DO NOTHING
)
SELECT event_id FROM new WHERE type = 'purchase'
"""
_MOVE_EXPOSURES = "INSERT INTO exposures SELECT * FROM drain_exposures ON CONFLICT DO NOTHING"
_STAGES = {
    "drain_events": ("events", EVENT_COLUMNS),
    "drain_event_lines": ("event_lines", LINE_COLUMNS),
    "drain_exposures": ("exposures", EXPOSURE_COLUMNS),
}


async def write_rows(engine: AsyncEngine, rows: Rows) -> list[str]:
    """Commit one batch; answers the ids of the purchases stored now (not those stored before)."""
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            new_purchases = await _copy(conn, rows)
        else:
            new_purchases = await _insert(conn, rows)
        if rows.outcomes:  # a handful a minute: inserts, each record once (its unique key)
            outcomes = [dict(zip(OUTCOME_COLUMNS, row, strict=True)) for row in rows.outcomes]
            dialect = postgres_insert if engine.dialect.name == "postgresql" else sqlite_insert
            await conn.execute(dialect(UpgradeOutcome).on_conflict_do_nothing(), outcomes)
    return new_purchases


async def _copy(conn: AsyncConnection, rows: Rows) -> list[str]:
    # COPY takes json as text (skus is the fifth exposure column).
    exposures = [(*row[:4], orjson.dumps(row[4]).decode(), row[5]) for row in rows.exposures]
    staged = {
        "drain_events": rows.events,
        "drain_event_lines": rows.lines,
        "drain_exposures": exposures,
    }
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    for stage, (table, columns) in _STAGES.items():
        await conn.execute(
            text(f"CREATE TEMP TABLE {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
        )
        if staged[stage]:
            await driver.copy_records_to_table(stage, records=staged[stage], columns=columns)
    new_purchases = list((await conn.execute(text(_MOVE_EVENTS))).scalars())
    await conn.execute(text(_MOVE_EXPOSURES))
    return new_purchases


async def _insert(conn: AsyncConnection, rows: Rows) -> list[str]:
    ids = [row[0] for row in rows.events]
    stored: set[str] = set()
    for start in range(0, len(ids), 500):  # SQLite caps the variables of one statement
        chunk = ids[start : start + 500]
        found = await conn.execute(select(Event.event_id).where(Event.event_id.in_(chunk)))
        stored.update(found.scalars())
    new_events = [
        dict(zip(EVENT_COLUMNS, row, strict=True)) for row in rows.events if row[0] not in stored
    ]
    new_ids = {event["event_id"] for event in new_events}
    new_lines = [
        dict(zip(LINE_COLUMNS, row, strict=True)) for row in rows.lines if row[0] in new_ids
    ]
    exposures = [dict(zip(EXPOSURE_COLUMNS, row, strict=True)) for row in rows.exposures]
    if new_events:
        await conn.execute(insert(Event), new_events)
    if new_lines:
        await conn.execute(insert(EventLine), new_lines)
    if exposures:
        await conn.execute(sqlite_insert(Exposure).on_conflict_do_nothing(), exposures)
    return [str(event["event_id"]) for event in new_events if event["type"] == "purchase"]
