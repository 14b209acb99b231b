"""The drain on real Postgres / SQLite and Redis / journal: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import metrics
from app.db.models import Event, EventLine, Exposure, UpgradeOutcome
from app.events.drain import drain_once
from app.events.rows import outcome_record, rows_of
from app.events.stream import (
    STREAM_KEY,
    EventLog,
    EventLogUnavailable,
    FileEventLog,
    RedisEventLog,
    open_event_log,
)
from app.events.writer import write_rows
from app.store.redis_store import job_client
from tests.conftest import REDIS_URL, fresh_redis
from tests.processes import CARTLIFT, clean_env, served


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
        "kind": "event",
        "event_id": event_id,
        "type": "click",
        "customer_id": unit,
        "session_id": None,
        "request_id": None,
        "at": 1_764_000_000.0,
        "sku": "card-love",
        "order_id": None,
        "lines": [],
    }


def purchase(event_id: str, *lines: tuple[str, int, float]) -> dict[str, Any]:
    return {
        **click(event_id),
        "type": "purchase",
        "sku": None,
        "order_id": event_id,
        "lines": [list(line) for line in lines],
    }


def exposure(request_id: str) -> dict[str, Any]:
    return {
        "kind": "exposure",
        "request_id": request_id,
        "unit": "c-1",
        "variant": "control",
        "endpoint": "recommend",
        "skus": ["a", "b"],
        "at": 1_764_000_000.5,
    }


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
        env = clean_env(
            CARTLIFT_DATABASE_URL=postgres_url,
            CARTLIFT_REDIS_URL=REDIS_URL,
            CARTLIFT_LOG_LEVEL="WARNING",
        )
        drainer = await asyncio.create_subprocess_exec(
            CARTLIFT,
            "events",
            "drain",
            "--batch",
            "2",
            env=env,
            cwd=tmp_path,
            stderr=asyncio.subprocess.DEVNULL,
        )
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


async def test_drainers_in_two_workers_and_two_cron_jobs_take_turns(
    pg_engine: AsyncEngine, postgres_url: str, tmp_path: Path
) -> None:
    """Each entry is written by one drainer: what they report drained adds up to the log."""
    entries = 300  # each with ten purchases, an exposure and an upgrade outcome
    async with fresh_redis() as client:
        log = RedisEventLog(client)
        for entry in range(entries):
            await log.append(
                [
                    *(purchase(f"o{entry}-{n}", ("a", 1, 2.0)) for n in range(10)),
                    exposure(f"r{entry}"),
                    outcome(entry),
                ]
            )
        env = clean_env(
            CARTLIFT_DATABASE_URL=postgres_url,
            CARTLIFT_REDIS_URL=REDIS_URL,
            CARTLIFT_SNAPSHOT_DIR=str(tmp_path / "rules"),
            CARTLIFT_EVENTS_DRAIN_IN_SERVE="true",
            CARTLIFT_EVENTS_DRAIN_INTERVAL_SECONDS="0.01",
        )
        with served(env=env, cwd=tmp_path, workers=2) as server:
            crons = [
                await asyncio.create_subprocess_exec(
                    CARTLIFT,
                    "events",
                    "drain",
                    "--batch",
                    str(batch),
                    env=env,
                    cwd=tmp_path,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                for batch in (1, 3)
            ]
            by_cron = 0
            for cron in crons:
                _, stderr = await asyncio.wait_for(cron.communicate(), 300)
                assert cron.returncode == 0, stderr.decode()
                by_cron += int(re.findall(r"(\d+) events", stderr.decode())[0])
            await _until_drained(client)
            async with httpx.AsyncClient() as http:
                by_workers = _drained_events((await http.get(server.base_url + "/metrics")).text)
        assert await counts(pg_engine) == (10 * entries, 10 * entries, entries)
        assert await outcomes(pg_engine) == entries
        assert by_cron + by_workers == 10 * entries  # nobody wrote an entry another wrote


def _drained_events(exposition: str) -> int:
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(exposition)
            for sample in family.samples
            if sample.name == "cartlift_events_drained_total" and sample.labels["kind"] == "event"
        )
    )


def outcome(n: int) -> dict[str, Any]:
    return {
        "kind": "upgrade_outcome",
        "customer_id": f"c-{n}",
        "offer_id": "basic->pro",
        "outcome": "accepted",
        "at": 1_764_000_001.0,
    }


async def _until_drained(client: Any) -> None:
    deadline = time.monotonic() + 120
    while await client.xlen(STREAM_KEY):
        assert time.monotonic() < deadline, "the drainers left entries in the log"
        await asyncio.sleep(0.05)


async def test_the_drain_counts_the_revenue_of_shown_skus_once(
    engine: AsyncEngine, event_log: EventLog
) -> None:
    order = {**purchase("o-shown", ("a", 2, 5.0), ("z", 1, 7.0)), "at": 1_764_000_100.0}
    await event_log.append([exposure("r-shown"), order])  # the exposure showed a and b
    await event_log.append([order])  # resent: stored once, counted once
    before = attributed_total()
    await drain_once(event_log, engine, batch_entries=1)
    assert attributed_total() - before == pytest.approx(10.0)


def attributed_total() -> float:
    return sum(value for _, value in metrics.counter_totals(metrics.ATTRIBUTED_REVENUE))


async def test_appends_made_at_once_each_land_whole_before_their_caller_returns() -> None:
    async with fresh_redis() as client:
        log = RedisEventLog(client)

        async def post(n: int) -> bool:
            await log.append([click(f"g{n}-{k}") for k in range(n % 7 + 1)])
            stored = [
                record["event_id"] for entry in await log.read(100) for record in entry.records
            ]
            return f"g{n}-0" in stored  # its own entry is in Redis when append returns

        landed = await asyncio.gather(*(post(n) for n in range(60)))
        entries = await log.read(100)
    assert all(landed) and len(entries) == 60
    assert sorted(len(entry.records) for entry in entries) == sorted(n % 7 + 1 for n in range(60))
    ids = [record["event_id"] for entry in entries for record in entry.records]
    assert len(ids) == len(set(ids)) == sum(n % 7 + 1 for n in range(60))


async def test_every_caller_of_a_group_hears_that_redis_is_away() -> None:
    log = open_event_log("redis://127.0.0.1:9/0", Path("unused"))  # nothing listens on 9
    try:
        calls = (log.append([click(f"x{n}")]) for n in range(20))
        found = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 30)
    finally:
        await log.close()
    assert all(isinstance(error, EventLogUnavailable) for error in found)
