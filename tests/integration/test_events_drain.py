"""The drain on real Postgres / SQLite and Redis / journal: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import Event, EventLine, Exposure, UpgradeOutcome
from app.events.drain import drain_once
from app.events.rows import outcome_record, rows_of
from app.events.stream import STREAM_KEY, EventLog, FileEventLog, RedisEventLog
from app.events.writer import write_rows
from app.store.redis_store import job_client
from tests.conftest import REDIS_URL, fresh_redis
from tests.processes import CARTLIFT, clean_env


@pytest.fixture(params=["redis", "journal"])
async def event_log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventLog]:
    if request.param == "journal":
        yield FileEventLog(tmp_path / "events")
        return
    async with fresh_redis():
        log = RedisEventLog(job_client(REDIS_URL))
        yield log
        await log.close()


def click(event_id: str, unit: str = "c-1") -> dict[str, Any]:
    return {
        "kind": "event", "event_id": event_id, "type": "click", "customer_id": unit,
        "session_id": None, "request_id": None, "at": 1_764_000_000.0, "sku": "card-love",
        "order_id": None, "lines": [],
    }  # fmt: skip


def purchase(event_id: str, *lines: tuple[str, int, float]) -> dict[str, Any]:
    return {**click(event_id), "type": "purchase", "sku": None, "order_id": event_id,
            "lines": [list(line) for line in lines]}  # fmt: skip


def exposure(request_id: str) -> dict[str, Any]:
    return {"kind": "exposure", "request_id": request_id, "unit": "c-1", "variant": "control",
            "endpoint": "recommend", "skus": ["a", "b"], "at": 1_764_000_000.5}  # fmt: skip


async def counts(engine: AsyncEngine) -> tuple[int, int, int]:
    async with engine.connect() as conn:
        found = [
            (await conn.execute(select(func.count(column)))).scalar_one()
            for column in (Event.event_id, EventLine.event_id, Exposure.request_id)
        ]
    return found[0], found[1], found[2]


async def test_each_event_and_exposure_is_stored_once(
    engine: AsyncEngine, event_log: EventLog
) -> None:
    await event_log.append([click("e1"), purchase("o1", ("a", 1, 9.5), ("b", 2, 0.0))])
    await event_log.append([click("e1"), exposure("r1"), exposure("r1")])  # resent in a batch
    await event_log.append([purchase("o1", ("a", 1, 9.5), ("z", 9, 1.0)), exposure("r2")])
    done = await drain_once(event_log, engine, batch_entries=2)
    assert (done.entries, await counts(engine)) == (3, (2, 2, 2))
    assert await event_log.backlog() == 0
    await event_log.append([click("e1"), purchase("o1", ("c", 5, 1.0)), exposure("r1")])
    await drain_once(event_log, engine)
    assert await counts(engine) == (2, 2, 2)  # the later copies changed nothing
    async with engine.connect() as conn:
        skus = (await conn.execute(select(EventLine.sku).order_by(EventLine.line_no))).scalars()
        assert list(skus) == ["a", "b"]


async def test_a_batch_committed_but_not_acknowledged_is_not_doubled(
    engine: AsyncEngine, event_log: EventLog
) -> None:
    await event_log.append([purchase(f"o{n}", ("a", 1, 2.5)) for n in range(50)])
    await event_log.append([exposure(f"r{n}") for n in range(30)])
    at = datetime(2026, 12, 5, 8, 0, 0, 123456, UTC)
    await event_log.append([outcome_record("c-1", "basic->plus", "declined", at)])
    # The drainer's crash window: rows committed, the log not yet told.
    await write_rows(engine, rows_of(await event_log.read(10)))
    assert (await counts(engine), await outcomes(engine)) == ((50, 50, 30), 1)
    await drain_once(event_log, engine)
    assert (await counts(engine), await outcomes(engine)) == ((50, 50, 30), 1)
    assert await event_log.backlog() == 0


async def outcomes(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count(UpgradeOutcome.id)))).scalar_one()


async def test_nothing_is_drained_from_an_empty_log(engine: AsyncEngine, tmp_path: Path) -> None:
    done = await drain_once(FileEventLog(tmp_path / "nothing"), engine)
    assert done.entries == 0 and await counts(engine) == (0, 0, 0)


def test_a_torn_journal_line_is_skipped_and_the_rest_kept(tmp_path: Path) -> None:
    log = FileEventLog(tmp_path / "events")
    asyncio.run(log.append([click("e1")]))
    with (tmp_path / "events" / "journal.jsonl").open("ab") as journal:
        journal.write(b'[{"kind": "event", "event_')  # a writer killed mid-line
    asyncio.run(log.append([click("e2")]))
    entries = asyncio.run(log.read(10))
    assert [record["event_id"] for entry in entries for record in entry.records] == ["e1", "e2"]


BATCHES, PER_BATCH = 200, 100


async def test_a_drainer_killed_mid_run_loses_and_doubles_nothing(
    pg_engine: AsyncEngine, postgres_url: str, tmp_path: Path
) -> None:
    async with fresh_redis() as client:
        log = RedisEventLog(client)
        for batch in range(BATCHES):
            await log.append(
                [purchase(f"o{batch}-{n}", ("a", 1, 1.0), ("b", 2, 3.0)) for n in range(PER_BATCH)]
            )
        env = clean_env(CARTLIFT_DATABASE_URL=postgres_url, CARTLIFT_REDIS_URL=REDIS_URL,
                        CARTLIFT_LOG_LEVEL="WARNING")  # fmt: skip
        drainer = await asyncio.create_subprocess_exec(
            CARTLIFT, "events", "drain", "--batch", "2", env=env, cwd=tmp_path,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await _until_some_committed(pg_engine, drainer)
        drainer.kill()
        await asyncio.wait_for(drainer.wait(), 30)
        stored = (await counts(pg_engine))[0]
        assert drainer.returncode == -9 and 0 < stored < BATCHES * PER_BATCH
        again = await asyncio.create_subprocess_exec(
            CARTLIFT, "events", "drain", env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await asyncio.wait_for(again.communicate(), 300)
        assert again.returncode == 0, stderr.decode()
        assert await counts(pg_engine) == (BATCHES * PER_BATCH, 2 * BATCHES * PER_BATCH, 0)
        assert await client.xlen(STREAM_KEY) == 0


async def _until_some_committed(engine: AsyncEngine, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 120
    while (await counts(engine))[0] == 0:
        assert process.returncode is None, "the drainer ended before it could be killed"
        assert time.monotonic() < deadline, "the drainer committed nothing in time"
        await asyncio.sleep(0.05)
