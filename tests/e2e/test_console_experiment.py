"""The console overview's experiment card, from events drained into a real Postgres."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.console import experiment
from app.console.templates import money
from app.events.drain import drain_once
from app.events.experiment import read_experiment
from app.events.simulate import Planted, simulate
from app.events.stream import RedisEventLog
from app.main import create_app
from tests.conftest import REDIS_URL, fresh_redis, serving, settings_for

KEY = "console-admin-key-0123456789"
PLANTED = Planted(units=800)  # split 50 / 50


async def overview(postgres_url: str, tmp_path: Path, holdout_percent: float) -> httpx.Response:
    settings = settings_for(
        postgres_url, REDIS_URL, tmp_path, admin_api_key=KEY, holdout_percent=holdout_percent
    )
    async with serving(create_app(settings)) as client:
        await client.post("/console/login", data={"key": KEY})
        return await client.get("/console")


async def drain_simulated(engine: AsyncEngine) -> None:
    async with fresh_redis() as client:
        event_log = RedisEventLog(client)
        await event_log.append(simulate(PLANTED, seed=11))
        await drain_once(event_log, engine)


async def test_the_overview_says_there_is_no_experiment_before_any_exposure(
    pg_engine: AsyncEngine, postgres_url: str, tmp_path: Path
) -> None:
    page = await overview(postgres_url, tmp_path, 10)
    assert page.status_code == 200
    assert 'id="no-experiment"' in page.text and 'id="uplift"' not in page.text


async def test_the_overview_shows_the_uplift_with_its_interval(
    pg_engine: AsyncEngine, postgres_url: str, tmp_path: Path
) -> None:
    await drain_simulated(pg_engine)
    report = await read_experiment(pg_engine, 50, 24)
    page = await overview(postgres_url, tmp_path, 50)
    revenue = report.uplift["revenue_per_unit"]
    assert revenue.ci95 is not None
    assert 'id="uplift-revenue"' in page.text and 'id="uplift-conversion"' in page.text
    assert f"{money(revenue.ci95[0])} to {money(revenue.ci95[1])}" in page.text
    assert money(report.arms["treatment"].revenue_per_unit) in page.text
    assert 'id="no-experiment"' not in page.text and "sample ratio mismatch" not in page.text


async def test_the_overview_warns_of_a_sample_ratio_mismatch(
    pg_engine: AsyncEngine, postgres_url: str, tmp_path: Path
) -> None:
    await drain_simulated(pg_engine)
    page = await overview(postgres_url, tmp_path, 20)  # the split was 50 %: units went missing
    assert 'class="error srm"' in page.text and "sample ratio mismatch" in page.text


async def test_a_slow_first_read_shows_that_the_figures_are_coming_then_shows_them(
    pg_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await drain_simulated(pg_engine)
    monkeypatch.setattr(experiment, "FIRST_WAIT_SECONDS", 0.0)  # any read is too slow now
    cache = experiment.ExperimentCache(keep_seconds=0.0)  # and every report is old at once
    first = await cache.get(pg_engine, 50, 24)
    assert first.pending and first.report is None
    await until(lambda: cache.held_report() is not None)
    later = await cache.get(pg_engine, 50, 24)  # old already: shown, and read again behind
    assert not later.pending and later.report is not None
    assert later.report.arms["treatment"].units + later.report.arms["control"].units == 800
    await cache.close()


async def until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, "the experiment was never read"
        await asyncio.sleep(0.02)
