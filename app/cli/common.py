"""Helpers every subcommand shares: settings, the engine, the store, errors as exit codes.

Only Typer and Rich's console are imported up front: `cartlift --help` and every
command's help must start as fast as Typer itself, so the database, the store, the
settings model and logging are imported by the functions that use them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from app.settings import Settings
    from app.store.base import RuleStore

T = TypeVar("T")
# Plain help and usage errors: Typer's Rich rendering imports a Markdown parser and Pygments,
# which would double the start of `--help`; command output still uses Rich.
HELP_MARKUP = None
console = Console(stderr=True)  # messages and progress
out = Console()  # tables and results meant for stdout


def load_settings() -> Settings:
    """Settings with logging configured, or a message naming the bad variable and exit code 2."""
    from app.logs import configure_logging
    from app.settings import InvalidSettings, read_settings

    try:
        settings = read_settings()
    except InvalidSettings as error:
        for line in error.lines:
            console.print(line, style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_json)
    return settings


def fail(message: str, code: int = 1) -> typer.Exit:
    from app.logs import redact

    console.print(f"[red]error:[/red] {escape(redact(message))}", soft_wrap=True)
    return typer.Exit(code)


def run_cli(app: typer.Typer) -> None:
    """Run the command; an unexpected error is one line and exit 1, not a traceback.

    The line names the failure, never a host, URL or path (CARTLIFT_LOG_LEVEL=DEBUG prints
    the traceback, passwords redacted).
    """
    from app.failures import hide_locations

    try:
        app()
    except Exception as error:  # exits were already turned into SystemExit by typer
        if os.environ.get("CARTLIFT_LOG_LEVEL", "").upper() == "DEBUG":
            import traceback

            from app.logs import redact

            console.print(escape(redact(traceback.format_exc())), highlight=False)
        fail(f"{type(error).__name__}: {hide_locations(str(error))}")
        raise SystemExit(1) from None


def run(coroutine: Awaitable[T]) -> T:
    import asyncio

    async def wrapped() -> T:
        return await coroutine

    return asyncio.run(wrapped())


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[tuple[AsyncEngine, RuleStore]]:
    from app.db.engine import make_engine
    from app.store.factory import store_for_jobs

    engine = make_engine(settings.reveal_database_url())
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

    return run(wrapped())
