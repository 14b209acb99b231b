"""The drainer: log entries -> the database in batches, acknowledged only after commit.

Idempotent end to end: every row has a unique key (event_id, the exposure's request_id,
the whole upgrade outcome) and is inserted with ON CONFLICT DO NOTHING, so a batch committed
but not acknowledged (a drainer killed in between) is harmless when it is read and written
again.

One drainer at a time: every worker of `cartlift serve` may run the background drainer
and a cron job may run `cartlift events drain` beside them, and all of them read the log
from its oldest entry. Unique keys keep the tables right even then, but two drainers
would write the same entries at once: the work done twice, transactions waiting on each
other's rows (or deadlocking, when their batches overlap in part) and the drain counters
counting entries twice. The drain lock (a Postgres advisory lock held by the drainer's
session, a file lock on SQLite) makes them take turns; a killed drainer's lock goes with
its connection. A background pass that finds the lock taken skips its turn.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app import metrics
from app.db.locks import LockHeld, exclusive
from app.events.queries import drained_attributed_revenue
from app.events.rows import rows_of
from app.events.stream import EventLog
from app.events.writer import write_rows
from app.logs import get_logger

log = get_logger(__name__)
BATCH_ENTRIES = 200  # log entries per transaction (each holds one posted batch or flush)
DRAIN_LOCK_KEY = 0x0CA2_71F8  # names "the cartlift drain" among advisory locks


@dataclass
class Drained:
    entries: int = 0
    events: int = 0
    exposures: int = 0
    outcomes: int = 0


async def drain_once(
    event_log: EventLog,
    engine: AsyncEngine,
    batch_entries: int = BATCH_ENTRIES,
    attribution_hours: float = 24.0,
    wait: bool = True,
) -> Drained:
    """Catch up with what the log held when the lock was taken; newer entries wait.

    Without `wait`, raises LockHeld when another drainer is at work. The lag is read first,
    so it shows what waits while the database is away or another drainer is slow.
    """
    metrics.DRAIN_LAG.set(await event_log.backlog())
    async with exclusive(engine, DRAIN_LOCK_KEY, "drain", wait):
        return await _catch_up(event_log, engine, batch_entries, attribution_hours)


async def _catch_up(
    event_log: EventLog, engine: AsyncEngine, batch_entries: int, attribution_hours: float
) -> Drained:
    backlog = await event_log.backlog()
    metrics.DRAIN_LAG.set(backlog)
    done = Drained()
    while done.entries < backlog and (entries := await event_log.read(batch_entries)):
        rows = rows_of(entries)
        new_purchases = await write_rows(engine, rows)
        # Only purchases stored now: a re-read batch (a drainer killed before its ack) adds 0.
        revenue = await drained_attributed_revenue(engine, new_purchases, attribution_hours)
        await event_log.ack(entries)  # only now: a crash before this re-reads the batch
        metrics.ATTRIBUTED_REVENUE.inc(revenue)
        done.entries += len(entries)
        done.events += len(rows.events)
        done.exposures += len(rows.exposures)
        done.outcomes += len(rows.outcomes)
        metrics.DRAINED.labels("event").inc(len(rows.events))
        metrics.DRAINED.labels("exposure").inc(len(rows.exposures))
        metrics.DRAINED.labels("upgrade_outcome").inc(len(rows.outcomes))
        metrics.DRAIN_LAG.set(max(backlog - done.entries, 0))
    return done


async def drain_forever(
    event_log: EventLog, engine: AsyncEngine, interval: float, attribution_hours: float
) -> None:
    while True:
        try:
            await drain_once(event_log, engine, attribution_hours=attribution_hours, wait=False)
        except LockHeld:  # another worker or a cron job is draining: its turn
            pass
        except Exception:  # the database may be away for a while: the log keeps everything
            log.exception("events_drain_failed")
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # see RuleReader.poll_forever
            raise asyncio.CancelledError
        await asyncio.sleep(interval)
