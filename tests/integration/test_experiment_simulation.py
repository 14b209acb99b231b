"""End to end on Postgres + Redis: simulated traffic with a planted uplift, posted
concurrently with retries and duplicate batches, drained, then reported."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.events.drain import drain_once
from app.events.experiment import read_experiment
from app.events.simulate import Planted, simulate
from app.events.stream import Record, RedisEventLog
from app.main import create_app
from app.store.redis_store import job_client
from tests.conftest import REDIS_URL, fresh_redis, serving, settings_for
from tests.processes import CARTLIFT, cartlift, clean_env

PLANTED = Planted(units=3_000)


def as_event(record: Record) -> dict[str, Any]:
    """A simulated purchase as a shop would POST it."""
    from datetime import UTC, datetime

    return {
        "event_id": record["event_id"],
        "type": "purchase",
        "customer_id": record["customer_id"],
        "order_id": record["order_id"],
        "at": datetime.fromtimestamp(record["at"], UTC).isoformat(),
        "lines": [{"sku": s, "quantity": q, "unit_price": p} for s, q, p in record["lines"]],
    }


async def post_all(client: httpx.AsyncClient, events: Sequence[dict[str, Any]]) -> None:
    """Batches of 100 from 8 concurrent senders; every 5th batch is sent twice (a retry)."""
    batches = [list(events[i : i + 100]) for i in range(0, len(events), 100)]
    resent = batches + batches[::5]
    random.Random(1).shuffle(resent)
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for batch in resent:
        queue.put_nowait(batch)

    async def sender() -> None:
        while not queue.empty():
            batch = queue.get_nowait()
            response = await client.post("/events", json={"events": batch})
            assert response.status_code == 202, response.text

    await asyncio.gather(*(sender() for _ in range(8)))


def sent_figures(records: list[Record]) -> dict[str, tuple[int, float]]:
    """Units and post-exposure revenue per arm, straight from what was generated."""
    arm = {r["unit"]: r["variant"] for r in records if r["kind"] == "exposure"}
    units = {name: sum(1 for v in arm.values() if v == name) for name in ("treatment", "control")}
    revenue = {"treatment": 0.0, "control": 0.0}
    for r in records:
        if r["kind"] == "event" and r["event_id"].endswith("-o"):
            revenue[arm[r["customer_id"]]] += sum(q * p for _, q, p in r["lines"])
    return {name: (units[name], round(revenue[name], 2)) for name in units}


async def run_experiment(
    engine: AsyncEngine, database_url: str, tmp_path: Path, seed: int, report_percent: float
) -> tuple[Any, list[Record]]:
    records = simulate(PLANTED, seed)
    async with fresh_redis() as client:
        event_log = RedisEventLog(client)
        exposures = [r for r in records if r["kind"] == "exposure"]
        for start in range(0, len(exposures), 500):  # as the API processes flush them
            await event_log.append(exposures[start : start + 500])
        settings = settings_for(database_url, REDIS_URL, tmp_path)
        async with serving(create_app(settings)) as api:
            await post_all(api, [as_event(r) for r in records if r["kind"] == "event"])
        await drain_once(RedisEventLog(job_client(REDIS_URL)), engine)
    report = await read_experiment(engine, report_percent, 24)
    return report, records


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_report_recovers_exactly_what_was_sent_and_the_planted_uplift(
    pg_engine: AsyncEngine, postgres_url: str, tmp_path: Path, seed: int
) -> None:
    report, records = await run_experiment(pg_engine, postgres_url, tmp_path, seed, 50)
    for arm, (units, revenue) in sent_figures(records).items():
        assert report.arms[arm].units == units
        assert report.arms[arm].revenue == pytest.approx(revenue, abs=0.005)
    rpu = report.uplift["revenue_per_unit"]
    assert rpu.ci95 is not None and rpu.ci95[0] <= PLANTED.revenue_per_unit_uplift <= rpu.ci95[1]
    conversion = report.uplift["conversion_rate"].ci95
    assert conversion is not None and conversion[0] <= PLANTED.conversion_uplift <= conversion[1]
    assert report.cuped is not None and report.cuped.variance_reduction > 0
    assert not report.srm.mismatch and not report.warnings


async def test_a_skewed_split_is_flagged(
    pg_engine: AsyncEngine, postgres_url: str, tmp_path: Path
) -> None:
    report, _ = await run_experiment(pg_engine, postgres_url, tmp_path, 4, 35)  # 50 % was used
    assert report.srm.mismatch and any("sample ratio mismatch" in w for w in report.warnings)


async def test_the_report_command_prints_the_same_figures_as_json_text_and_html(
    pg_engine: AsyncEngine, postgres_url: str, tmp_path: Path
) -> None:
    report, _ = await run_experiment(pg_engine, postgres_url, tmp_path, 5, 50)
    env = clean_env(CARTLIFT_DATABASE_URL=postgres_url, CARTLIFT_HOLDOUT_PERCENT="50")
    printed = {}
    for form in ("json", "text", "html"):
        process = await asyncio.create_subprocess_exec(
            CARTLIFT,
            "experiment",
            "report",
            "--format",
            form,
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        printed[form] = out.decode()
    body = json.loads(printed["json"])
    assert set(body) >= {"arms", "uplift", "srm"}
    assert body["arms"]["treatment"]["units"] == report.arms["treatment"].units
    rpu = body["uplift"]["revenue_per_unit"]
    assert set(rpu) >= {"absolute", "relative", "ci95", "p_value"}
    assert rpu["ci95"] == pytest.approx(list(report.uplift["revenue_per_unit"].ci95 or ()))
    assert set(body["srm"]) >= {"expected_share", "observed_share", "p_value", "mismatch"}
    assert "uplift in revenue per unit" in printed["text"]
    assert "<h2>Holdout experiment</h2>" in printed["html"]


def test_the_report_command_refuses_a_bad_date(tmp_path: Path) -> None:
    done = cartlift("experiment", "report", "--since", "last week", env=clean_env(), cwd=tmp_path)
    assert done.returncode == 2 and "--since" in done.stderr
