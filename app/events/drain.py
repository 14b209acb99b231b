"""The drainer: log entries -> the database in batches, acknowledged only after commit.

Idempotent end to end for events and exposures: every row has a unique key (event_id, the
exposure's request_id) and is inserted with ON CONFLICT DO NOTHING, so a batch committed but
not acknowledged (a drainer killed in between) is harmless when it is read and written again.
Upgrade outcomes have no such key: in that one case they are stored twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app import metrics
from app.events.rows import rows_of
from app.events.stream import EventLog
from app.events.writer import write_rows
from app.logs import get_logger

log = get_logger(__name__)
BATCH_ENTRIES = 200  # log entries per transaction (each holds one posted batch or flush)


@dataclass
class Drained:
    entries: int = 0
    events: int = 0
    exposures: int = 0
    outcomes: int = 0


async def drain_once(
    event_log: EventLog, engine: AsyncEngine, batch_entries: int = BATCH_ENTRIES
) -> Drained:
    """Catch up with what the log held when called; newer entries wait for the next pass."""
    backlog = await event_log.backlog()
    metrics.DRAIN_LAG.set(backlog)
    done = Drained()
    while done.entries < backlog and (entries := await event_log.read(batch_entries)):
        rows = rows_of(entries)
        await write_rows(engine, rows)
        await event_log.ack(entries)  # only now: a crash before this re-reads the batch
        done.entries += len(entries)
        done.events += len(rows.events)
        done.exposures += len(rows.exposures)
        done.outcomes += len(rows.outcomes)
        metrics.DRAINED.labels("event").inc(len(rows.events))
        metrics.DRAINED.labels("exposure").inc(len(rows.exposures))
        metrics.DRAINED.labels("upgrade_outcome").inc(len(rows.outcomes))
        metrics.DRAIN_LAG.set(max(backlog - done.entries, 0))
    return done


async def drain_forever(event_log: EventLog, engine: AsyncEngine, interval: float) -> None:
    while True:
        try:
            await drain_once(event_log, engine)
        except Exception:  # the database may be away for a while: the log keeps everything
            log.exception("events_drain_failed")
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # see RuleReader.poll_forever
            raise asyncio.CancelledError
        await asyncio.sleep(interval)
