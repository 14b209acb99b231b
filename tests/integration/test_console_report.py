"""The console's report: built once per rule version, and started before anyone asks."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.console.report_data import ReportCache
from app.demo.shop import DemoFiles
from app.main import create_app
from tests.conftest import import_demo, serving, settings_for

KEY = "console-admin-key-0123456789"


async def test_the_report_is_built_once_per_rule_version(
    pg_engine: AsyncEngine, demo_files: DemoFiles
) -> None:
    await import_demo(pg_engine, demo_files)
    cache = ReportCache()
    first = await cache.get(pg_engine, 1)
    assert first is not None and first.report.kpis.orders == 4_000
    assert await cache.get(pg_engine, 1) is first  # however many pages ask
    assert cache.ready(1) and not cache.ready(2)
    newer = await cache.get(pg_engine, 2)  # a rebuild published another version
    assert newer is not None and newer is not first and newer.version == 2
    cache.forget()  # "Recompute"
    assert await cache.get(pg_engine, 2) is not newer
    assert first.heatmap.startswith(b"<svg")


async def test_the_overview_starts_building_the_report_in_the_background(
    pg_engine: AsyncEngine, postgres_url: str, demo_files: DemoFiles, tmp_path: Path
) -> None:
    await import_demo(pg_engine, demo_files)
    app = create_app(settings_for(postgres_url, None, tmp_path, admin_api_key=KEY))
    async with serving(app) as client:
        await client.post("/console/login", data={"key": KEY})
        report = app.state.console.report
        assert not report.ready(None)  # no rule version published: keyed by None
        assert (await client.get("/console")).status_code == 200
        deadline = time.monotonic() + 60
        while not report.ready(None):
            assert time.monotonic() < deadline, "the overview did not start the report"
            await asyncio.sleep(0.05)
        page = await client.get("/console/report")
        assert page.status_code == 200 and 'src="/console/report/heatmap.svg"' in page.text
        image = await client.get("/console/report/heatmap.svg")
    assert image.headers["content-type"] == "image/svg+xml" and b"holders" in image.content
