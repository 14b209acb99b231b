"""The Spark engine publishes the default engine's rules, byte for byte in `rules export`.

Both engines mine the public data sets (../shared/data) loaded as orders into Postgres:
Groceries at the default thresholds, FIMI retail at a higher minimum count so the Spark
run in local mode stays within a minute on two cores (the full-default retail comparison
is loadtests/compare_engines.py). Spark reads Postgres through its JDBC source, or a
Parquet export of `cartlift export orders`. Needs the 'spark' extra, Java 17 and Debian's
JDBC driver: .ci/run installs them; under CI=true a missing one fails the test.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner, Result

from app.cli.main import app
from app.jobs.counting import JDBC_JAR
from tests.conftest import DATA_DIR, IN_CI
from tests.public_orders import load_public_orders

# The defaults (6, and 5 per customer) are the loadtest's: 39 s and 82 s of Spark alone.
RETAIL_MIN_COUNT = "60"


def _spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (uv sync --extra spark)"
    if shutil.which("java") is None:
        return "java is not installed (Debian: openjdk-17-jre-headless)"
    if not JDBC_JAR.is_file():
        return f"no JDBC driver at {JDBC_JAR} (Debian: libpostgresql-jdbc-java)"
    return None


@pytest.fixture(autouse=True)
def spark_ready() -> None:
    missing = _spark_missing()
    if missing is None:
        return
    if IN_CI:
        pytest.fail(f"the Spark engine cannot run: {missing} (CI=true: a failure)", pytrace=False)
    pytest.skip(missing)


@pytest.fixture
def env(postgres_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "CARTLIFT_DATABASE_URL": postgres_url,
        "CARTLIFT_REDIS_URL": "",
        "CARTLIFT_SNAPSHOT_DIR": str(tmp_path / "rules"),
        "CARTLIFT_LOG_LEVEL": "WARNING",
    }


async def cartlift(env: dict[str, str], *args: str) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(lambda: runner.invoke(app, list(args), env=env))


async def rebuilt_export(env: dict[str, str], out: Path, *args: str) -> tuple[bytes, Any]:
    """Rebuild with `args`, then `rules export` the published version: its bytes, summary."""
    rebuilt = await cartlift(env, "rebuild", *args)
    assert rebuilt.exit_code == 0, rebuilt.output
    summary = orjson.loads(rebuilt.stdout.splitlines()[-1])
    exported = await cartlift(env, "rules", "export", "--output", str(out))
    assert exported.exit_code == 0, exported.output
    return await asyncio.to_thread(out.read_bytes), summary


async def assert_same_export(env: dict[str, str], tmp_path: Path, *args: str) -> int:
    default, first = await rebuilt_export(env, tmp_path / "numpy.csv", *args)
    spark, second = await rebuilt_export(env, tmp_path / "spark.csv", *args, "--engine", "spark")
    assert first["rules"] > 0 and second["rules"] == first["rules"]
    assert (second["baskets"], second["items"]) == (first["baskets"], first["items"])
    assert second["orders"] == first["orders"]
    assert spark == default  # byte for byte, ties ranked alike
    assert second["checksum"] == first["checksum"]  # item weights and sections too
    return int(first["rules"])


@pytest.mark.slow
@pytest.mark.parametrize("scope", ["order", "customer"])
async def test_spark_publishes_the_default_rules_on_groceries(
    pg_engine: AsyncEngine, env: dict[str, str], tmp_path: Path, scope: str
) -> None:
    await load_public_orders(pg_engine, "groceries", DATA_DIR)
    await assert_same_export(env, tmp_path, "--scope", scope)
    builds = await cartlift({**env, "COLUMNS": "200"}, "builds")
    assert builds.exit_code == 0, builds.output
    rows = [line.split("│") for line in builds.stdout.splitlines() if "published" in line]
    assert [row[4].strip() for row in rows] == ["spark", "numpy"], builds.stdout


@pytest.mark.slow
@pytest.mark.parametrize("scope", ["order", "customer"])
async def test_spark_publishes_the_default_rules_on_retail(
    pg_engine: AsyncEngine, env: dict[str, str], tmp_path: Path, scope: str
) -> None:
    await load_public_orders(pg_engine, "retail", DATA_DIR)
    rules = await assert_same_export(
        env, tmp_path, "--scope", scope, "--min-count", RETAIL_MIN_COUNT
    )
    assert rules > 1000


@pytest.mark.slow
async def test_spark_reads_a_window_from_parquet_and_from_postgres(
    pg_engine: AsyncEngine, env: dict[str, str], tmp_path: Path
) -> None:
    orders = await load_public_orders(pg_engine, "groceries", DATA_DIR, recent=True)
    exported = await cartlift(
        env, "export", "orders", "--format", "parquet", "--output", str(tmp_path / "orders")
    )
    assert exported.exit_code == 0, exported.output
    assert f"exported {orders} orders" in exported.output
    window = ("--scope", "customer", "--since", "24h")
    default, first = await rebuilt_export(env, tmp_path / "numpy.csv", *window)
    spark, second = await rebuilt_export(
        env,
        tmp_path / "spark.csv",
        *window,
        "--engine",
        "spark",
        "--orders-parquet",
        str(tmp_path / "orders"),
    )
    assert first["orders"] == second["orders"] == orders - orders // 2
    assert spark == default and first["rules"] > 0
    jdbc, third = await rebuilt_export(env, tmp_path / "jdbc.csv", *window, "--engine", "spark")
    assert third["orders"] == first["orders"] and jdbc == default


async def test_an_unknown_engine_is_refused_before_reading(env: dict[str, str]) -> None:
    result = await cartlift(env, "rebuild", "--engine", "hadoop")
    assert result.exit_code == 2
    assert "engine must be one of numpy, spark" in result.stdout


async def test_a_parquet_source_needs_the_spark_engine(env: dict[str, str]) -> None:
    result = await cartlift(env, "rebuild", "--orders-parquet", "/nonexistent")
    assert result.exit_code == 2
    assert "read by the spark engine only" in result.stdout
