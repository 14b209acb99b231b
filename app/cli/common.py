"""Helpers every subcommand shares: settings, the engine, the store, errors as exit codes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import make_engine
from app.logs import redact
from app.settings import Settings
from app.store.base import RuleStore
from app.store.factory import store_for_jobs

T = TypeVar("T")
console = Console(stderr=True)  # messages and progress
out = Console()  # tables and results meant for stdout


def load_settings() -> Settings:
    """Settings, or a clear message naming the bad variable and exit code 2."""
    try:
        return Settings()
    except ValidationError as error:
        for issue in error.errors():
            name = "CARTLIFT_" + str(issue["loc"][0]).upper() if issue["loc"] else "settings"
            console.print(f"[red]invalid setting {name}[/red]: {issue['msg']}")
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]error:[/red] {redact(message)}")
    return typer.Exit(code)


def run(coroutine: Awaitable[T]) -> T:
    async def wrapped() -> T:
        return await coroutine

    return asyncio.run(wrapped())


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[tuple[AsyncEngine, RuleStore]]:
    engine = make_engine(settings.database_url)
    store = store_for_jobs(settings)
    try:
        yield engine, store
    finally:
        await store.close()
        await engine.dispose()


def run_with_store(
    settings: Settings, action: Callable[[AsyncEngine, RuleStore], Awaitable[T]]
) -> T:
    async def wrapped() -> T:
        async with opened(settings) as (engine, store):
            return await action(engine, store)

    return asyncio.run(wrapped())
