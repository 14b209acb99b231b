"""`cartlift rebuild`, `rollback` and `builds` as an operator runs them: exit codes, output.

The commands run in process through typer's CliRunner (in a worker thread, since each
command runs its own event loop), configured only by CARTLIFT_* variables.
"""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress, TextColumn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner, Result

from app.cli.jobs import ProgressReporter
from app.cli.main import app
from app.demo.shop import DemoFiles
from app.jobs.lock import rebuild_lock
from app.jobs.rebuild import ExitCode, RebuildOptions, rebuild
from app.store.redis_store import RedisRuleStore
from tests.conftest import REDIS_URL, import_demo
from tests.integration.test_rebuild_faults import RefusingServer

MIN_COUNT = ("--min-count", "5")


async def cartlift(env: dict[str, str], *args: str) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(lambda: runner.invoke(app, list(args), env=env))


def summary_of(result: Result) -> dict[str, Any]:
    """The rebuild's one stdout line, parsed."""
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    parsed: dict[str, Any] = orjson.loads(lines[0])
    return parsed


@pytest.fixture
def env(postgres_url: str, redis_client: Redis, tmp_path: Path) -> dict[str, str]:
    return {
        "CARTLIFT_DATABASE_URL": postgres_url,
        "CARTLIFT_REDIS_URL": REDIS_URL,
        "CARTLIFT_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
async def shop(pg_engine: AsyncEngine, demo_files: DemoFiles) -> AsyncEngine:
    await import_demo(pg_engine, demo_files)
    return pg_engine


async def current(redis_client: Redis) -> int | None:
    return await RedisRuleStore(redis_client).current_version()


async def test_rebuild_publishes_and_prints_one_json_summary_line(
    shop: AsyncEngine, env: dict[str, str], redis_client: Redis
) -> None:
    result = await cartlift(env, "rebuild", *MIN_COUNT)

    assert result.exit_code == 0, result.stderr
    summary = summary_of(result)
    assert summary["event"] == "rebuild" and summary["status"] == "published"
    assert summary["code"] == 0 and summary["version"] == await current(redis_client)
    assert summary["orders"] == 4_000 and summary["rules"] > 0 and summary["min_count"] == 5
    assert set(summary["timings"]) >= {"read_s", "mine_s", "sections_s", "publish_s", "total_s"}
    assert len(summary["checksum"]) == 64


async def test_rebuilding_unchanged_data_from_the_cli_gives_the_same_checksum(
    shop: AsyncEngine, env: dict[str, str]
) -> None:
    first = summary_of(await cartlift(env, "rebuild", *MIN_COUNT))
    second = summary_of(await cartlift(env, "rebuild", *MIN_COUNT))
    assert first["checksum"] == second["checksum"]
    assert second["version"] == first["version"] + 1


BAD_PARAMETERS = [
    (("--min-confidence", "1.5"), "min_confidence must be within [0, 1]"),
    (("--min-lift", "-1"), "min_lift must be >= 0"),
    (("--min-count", "0"), "min_count must be >= 1"),
    (("--min-support", "0"), "min_support must be within (0, 1]"),
    (("--min-support", "lots"), "--min-support must be a number"),
    (("--min-support", "0.01", "--min-count", "5"), "min_support or min_count, not both"),
    (("--top-n", "0"), "top_n must be >= 1"),
    (("--scope", "session"), "scope must be one of order, customer"),
    (("--since", "5x"), "expected a window like 365d"),
]


async def test_bad_parameters_exit_2_naming_the_parameter_and_leave_current_alone(
    shop: AsyncEngine, env: dict[str, str], redis_client: Redis
) -> None:
    assert (await cartlift(env, "rebuild", *MIN_COUNT)).exit_code == 0
    version = await current(redis_client)
    for args, message in BAD_PARAMETERS:
        result = await cartlift(env, "rebuild", *args)
        assert result.exit_code == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert summary_of(result)["status"] == "invalid"
    assert await current(redis_client) == version
    async with shop.connect() as conn:
        assert await conn.scalar(text("SELECT COUNT(*) FROM rule_builds")) == 1


async def test_an_empty_database_exits_3_and_publishes_nothing(
    pg_engine: AsyncEngine, env: dict[str, str], redis_client: Redis
) -> None:
    result = await cartlift(env, "rebuild")
    assert result.exit_code == 3
    assert "refused to publish: no orders to mine" in result.stderr
    assert summary_of(result)["status"] == "refused"
    assert await current(redis_client) is None


async def test_a_sharply_shrunk_rule_set_exits_3_unless_forced(
    shop: AsyncEngine, env: dict[str, str], redis_client: Redis
) -> None:
    published = summary_of(await cartlift(env, "rebuild", *MIN_COUNT))
    strict = (*MIN_COUNT, "--min-confidence", "0.9")
    refused = await cartlift(env, "rebuild", *strict)
    assert refused.exit_code == 3 and "a drop of more than 50%" in refused.stderr
    assert await current(redis_client) == published["version"]
    forced = await cartlift(env, "rebuild", *strict, "--force")
    assert forced.exit_code == 0


async def test_a_rebuild_while_another_holds_the_lock_exits_75(
    shop: AsyncEngine, env: dict[str, str], redis_client: Redis
) -> None:
    async with rebuild_lock(shop):
        result = await cartlift(env, "rebuild", *MIN_COUNT)
    assert result.exit_code == 75
    assert summary_of(result)["status"] == "locked"
    assert await current(redis_client) is None


async def test_an_unreachable_postgres_exits_1_after_the_configured_attempts(
    env: dict[str, str],
) -> None:
    async with RefusingServer() as postgres:
        result = await cartlift(
            {
                **env,
                "CARTLIFT_DATABASE_URL": postgres.database_url,
                "CARTLIFT_REBUILD_DB_ATTEMPTS": "2",
                "CARTLIFT_REBUILD_DB_RETRY_SECONDS": "0.01",
            },
            "rebuild",
        )
    assert result.exit_code == 1
    assert postgres.connections == 2
    assert "unreachable after 2 attempts" in summary_of(result)["message"]


async def test_rollback_flips_back_one_version_or_to_a_named_one(
    shop: AsyncEngine, env: dict[str, str], redis_client: Redis
) -> None:
    for _ in range(3):
        assert (await cartlift(env, "rebuild", *MIN_COUNT)).exit_code == 0

    back = await cartlift(env, "rollback")
    assert back.exit_code == 0 and "now serving version 2" in back.stderr
    assert await current(redis_client) == 2
    assert (await cartlift(env, "rollback", "--to", "3")).exit_code == 0
    assert await current(redis_client) == 3
    unknown = await cartlift(env, "rollback", "--to", "99")
    assert unknown.exit_code == 1 and "version 99 is not held" in unknown.stderr
    assert (await cartlift(env, "rollback", "--to", "1")).exit_code == 0
    oldest = await cartlift(env, "rollback")
    assert oldest.exit_code == 1 and "no earlier version" in oldest.stderr
    assert await current(redis_client) == 1


async def test_builds_lists_recent_runs_newest_first_with_their_outcome(
    shop: AsyncEngine, env: dict[str, str]
) -> None:
    await cartlift(env, "rebuild", *MIN_COUNT)
    await cartlift(env, "rebuild", *MIN_COUNT, "--min-confidence", "0.99")

    result = await cartlift(env, "builds", "--limit", "5")

    assert result.exit_code == 0
    assert result.stdout.index("refused") < result.stdout.index("published")


async def test_an_unreachable_redis_exits_1_and_the_run_is_recorded_as_failed(
    shop: AsyncEngine, env: dict[str, str]
) -> None:
    closed_port = RefusingServer().port  # nothing listens there
    result = await cartlift(
        {**env, "CARTLIFT_REDIS_URL": f"redis://127.0.0.1:{closed_port}/0"}, "rebuild"
    )
    assert result.exit_code == 1
    assert summary_of(result)["status"] == "failed"
    async with shop.connect() as conn:
        status, error = (await conn.execute(text("SELECT status, error FROM rule_builds"))).one()
    assert status == "failed" and "redis" in error.lower()


async def test_a_terminal_sees_each_phase_and_the_publish_progress(
    shop: AsyncEngine, redis_client: Redis
) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, color_system=None, width=120)
    with Progress(TextColumn("{task.description}"), MofNCompleteColumn(), console=terminal) as bar:
        reporter = ProgressReporter(bar)
        result = await rebuild(
            shop, RedisRuleStore(redis_client), RebuildOptions(min_count=5), reporter
        )
        reporter.done()
    assert result.code is ExitCode.PUBLISHED
    shown = screen.getvalue()
    for phase in ("reading orders", "mining 4,000 baskets", "building entries", "publishing"):
        assert phase in shown
    assert re.search(r"publishing\s+(\d+)/\1", shown), "the bar ends full"
