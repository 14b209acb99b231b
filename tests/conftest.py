"""Shared fixtures: real Postgres and Redis (a failure under CI=true, never a skip)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis, RedisCluster
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.admin import run_admin_sql
from app.db.engine import make_engine
from app.db.migrate import upgrade_to_head
from app.db.models import Base
from app.demo.shop import DemoFiles, write_demo_shop
from app.importing.catalog import (
    import_plans,
    import_products,
    import_subscriptions,
    import_upgrades,
)
from app.importing.orders import import_orders
from app.main import create_app
from app.settings import Settings
from app.store.base import RuleStore
from app.store.file_store import FileRuleStore
from app.store.redis_cluster_store import RedisClusterRuleStore, cluster_job_client
from app.store.redis_store import RedisRuleStore, job_client
from tests.redis_cluster import Cluster, redis_cluster

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_SERVER = os.environ.get(
    "CARTLIFT_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("CARTLIFT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"


def unavailable(what: str, error: BaseException) -> None:
    message = f"{what} is not reachable: {error}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing service is a failure)", pytrace=False)
    pytest.skip(message)


async def _admin(sql: str) -> None:
    await run_admin_sql(PG_SERVER, sql)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated database for this test session, dropped at the end."""
    name = f"cartlift_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        unavailable("Postgres", error)
    url = make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    upgrade_to_head(url)
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "cartlift.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def _truncate(engine: AsyncEngine) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(params=["postgres", "sqlite"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Every test using this runs once on Postgres and once on SQLite."""
    fixture = "postgres_url" if request.param == "postgres" else "sqlite_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    await _truncate(engine)
    yield engine
    await _truncate(engine)
    await engine.dispose()


@pytest.fixture
async def pg_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(postgres_url)
    await _truncate(engine)
    yield engine
    await _truncate(engine)
    await engine.dispose()


@asynccontextmanager
async def fresh_redis() -> AsyncIterator[Redis]:
    """A flushed test db, flushed again afterwards."""
    client = job_client(REDIS_URL)
    try:
        await client.ping()
    except Exception as error:
        await client.aclose()
        unavailable("Redis", error)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    async with fresh_redis() as client:
        yield client


@pytest.fixture(scope="session")
def shared_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A private three-master Redis Cluster for this test session (never the shared Redis)."""
    with ExitStack() as stack:
        try:
            cluster = stack.enter_context(redis_cluster(tmp_path_factory.mktemp("cluster")))
        except (OSError, RuntimeError, subprocess.SubprocessError) as error:
            unavailable("A local Redis Cluster", error)
        yield cluster


@asynccontextmanager
async def fresh_cluster(url: str) -> AsyncIterator[RedisClusterRuleStore]:
    """The cluster emptied on every master before and after."""
    client = cluster_job_client(url)
    await client.flushall(target_nodes=RedisCluster.PRIMARIES)
    try:
        yield RedisClusterRuleStore(client)
    finally:
        await client.flushall(target_nodes=RedisCluster.PRIMARIES)
        await client.aclose()


@pytest.fixture(params=["redis", "redis-cluster", "file"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RuleStore]:
    """Every RuleStore contract test runs against each backend."""
    if request.param == "redis":
        async with fresh_redis() as client:
            yield RedisRuleStore(client)
    elif request.param == "redis-cluster":
        async with fresh_cluster(request.getfixturevalue("shared_cluster").url) as store:
            yield store
    else:
        yield FileRuleStore(tmp_path / "rules")


def settings_for(
    database_url: str, redis_url: str | None, tmp_path: Path, **extra: object
) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        snapshot_dir=tmp_path / "rules",
        log_json=True,
        version_poll_seconds=0.2,
        **extra,  # type: ignore[arg-type]
    )


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, reached in process over ASGI."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cartlift") as client:
            yield client


AppFactory = Callable[..., FastAPI]


@pytest.fixture
def app_factory() -> AppFactory:
    return create_app


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    """A small demo shop (4,000 orders), written once per test session."""
    return write_demo_shop(tmp_path_factory.mktemp("demo"), n_customers=1_000, n_orders=4_000)


async def import_demo(engine: AsyncEngine, files: DemoFiles) -> None:
    await import_products(engine, str(files.products))
    await import_upgrades(engine, str(files.upgrades))
    await import_plans(engine, str(files.plans))
    await import_orders(engine, str(files.orders))
    await import_subscriptions(engine, str(files.subscriptions))
