"""Job commands: rebuild, rollback, builds."""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from app.cli.common import console, fail, load_settings, out, run_with_store

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID
    from sqlalchemy.ext.asyncio import AsyncEngine

    from app.db.models import RuleBuild
    from app.jobs.outcome import RebuildResult
    from app.jobs.rebuild import RebuildOptions
    from app.settings import Settings
    from app.store.base import RuleStore


def parse_window(text: str | None) -> timedelta | None:
    """`365d`, `12w` or `24h`; None keeps every order."""
    if not text:
        return None
    units = {"d": "days", "w": "weeks", "h": "hours"}
    amount, unit = text[:-1], text[-1:].lower()
    if unit not in units or not amount.isdigit() or int(amount) == 0:
        raise typer.BadParameter(f"expected a window like 365d, 12w or 24h, got {text!r}")
    return timedelta(**{units[unit]: int(amount)})


def parse_decimal(text: str | None, name: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise typer.BadParameter(f"--{name} must be a number, got {text!r}") from None


def rebuild_command(
    scope: Annotated[
        str, typer.Option(help="order: a basket is one order; customer: all a customer bought")
    ] = "order",
    since: Annotated[str | None, typer.Option(help="Only orders in this window, e.g. 365d")] = None,
    min_support: Annotated[
        str | None, typer.Option(help="Minimum support share, e.g. 0.001")
    ] = None,
    min_count: Annotated[
        int | None, typer.Option(help="Minimum baskets with A and c (default adapts to the data)")
    ] = None,
    min_confidence: Annotated[str, typer.Option(help="Minimum confidence, inclusive")] = "0.05",
    min_lift: Annotated[
        str, typer.Option(help="Minimum lift, inclusive (above 1 = better than chance)")
    ] = "1.01",
    top_n: Annotated[int, typer.Option(help="Rules kept per antecedent")] = 50,
    force: Annotated[
        bool, typer.Option(help="Publish even an empty or sharply shrunk rule set")
    ] = False,
    engine: Annotated[
        str, typer.Option(help="Who counts the baskets: numpy (in this process) or spark")
    ] = "numpy",
    spark_master: Annotated[
        str | None, typer.Option(help="Spark master URL for --engine spark (default local[*])")
    ] = None,
    orders_parquet: Annotated[
        Path | None,
        typer.Option(help="--engine spark reads this `cartlift export orders` directory"),
    ] = None,
) -> None:
    """Mine rules from the orders and publish a new version.

    Exit codes: 0 published, 1 failed, 2 bad parameters, 3 refused by a safety guard
    (empty or sharply shrunk rule set), 75 another rebuild holds the lock. One JSON
    summary line goes to stdout whatever the outcome.
    """
    from app.jobs.outcome import ExitCode, RebuildResult
    from app.jobs.rebuild import RebuildOptions

    settings = load_settings()
    try:
        options = RebuildOptions(
            scope=scope,
            since=parse_window(since),
            min_support=parse_decimal(min_support, "min-support"),
            min_count=min_count,
            min_confidence=parse_decimal(min_confidence, "min-confidence") or Decimal(0),
            min_lift=parse_decimal(min_lift, "min-lift") or Decimal(0),
            top_n=top_n,
            force=force,
            keep=settings.keep_versions,
            max_shrink=settings.max_shrink,
            engine=engine,
            spark_master=spark_master or settings.spark_master,
            orders_parquet=orders_parquet,
            jdbc_jar=settings.spark_jdbc_jar,
        )
    except (ValueError, typer.BadParameter) as error:
        result = RebuildResult(ExitCode.INVALID, f"invalid parameters: {error}")
    else:
        result = _run_rebuild(settings, options)
    _emit_summary(result)


def _emit_summary(result: RebuildResult) -> None:
    import orjson

    from app.jobs.outcome import ExitCode

    sys.stdout.write(orjson.dumps({"event": "rebuild", **result.summary()}).decode() + "\n")
    sys.stdout.flush()
    if result.code is not ExitCode.PUBLISHED:
        console.print(f"[yellow]{escape(result.message)}[/yellow]", soft_wrap=True)
    raise typer.Exit(int(result.code))


def _run_rebuild(settings: Settings, options: RebuildOptions) -> RebuildResult:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from app.jobs.outcome import ExitCode, RebuildResult
    from app.jobs.rebuild import rebuild
    from app.jobs.retry import DatabaseRetry

    retry = DatabaseRetry(settings.rebuild_db_attempts, settings.rebuild_db_retry_seconds)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as progress:
        reporter = ProgressReporter(progress)
        try:
            return run_with_store(
                settings, lambda engine, store: rebuild(engine, store, options, reporter, retry)
            )
        except Exception as error:
            # Opening or closing the store can fail outside the job itself.
            return RebuildResult(ExitCode.FAILED, f"{type(error).__name__}: {error}")
        finally:
            reporter.done()


class ProgressReporter:
    """A terminal line per phase; the publish phase gets a bar over the entries written."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None
        self._total = 1

    def phase(self, name: str, total: int | None = None) -> None:
        self.done()
        self._task = self._progress.add_task(name, total=total)
        self._total = total if total is not None else 1

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def done(self) -> None:
        """Mark the running phase finished, so its spinner stops."""
        if self._task is not None:
            self._progress.update(self._task, total=self._total, completed=self._total)
            self._task = None


def rollback(
    to: Annotated[
        int | None, typer.Option("--to", help="Version to serve; default the one before")
    ] = None,
) -> None:
    """Point the service back at an earlier rule version."""
    from app.store.base import StoreError, UnknownVersion

    settings = load_settings()

    async def flip(_engine: AsyncEngine, store: RuleStore) -> int:
        versions = await store.versions()
        current = await store.current_version()
        target = (
            to
            if to is not None
            else max((v for v in versions if current is None or v < current), default=None)
        )
        if target is None:
            raise UnknownVersion("no earlier version to roll back to")
        await store.rollback(target)
        return target

    try:
        target = run_with_store(settings, flip)
    except (UnknownVersion, StoreError) as error:
        raise fail(str(error)) from None
    console.print(f"now serving version {target}", soft_wrap=True)


def builds(limit: Annotated[int, typer.Option(min=1, help="How many runs")] = 10) -> None:
    """Recent rebuild runs, newest first, with the engine that counted each."""
    from rich.table import Column, Table
    from sqlalchemy import select

    from app.db.models import RuleBuild

    settings = load_settings()

    async def recent(engine: AsyncEngine, _store: RuleStore) -> list[RuleBuild]:
        async with engine.connect() as conn:
            result = await conn.execute(
                select(RuleBuild).order_by(RuleBuild.id.desc()).limit(limit)
            )
            return list(result.all())  # type: ignore[arg-type]

    # The status stays whole however narrow the terminal: scripts and people look for it.
    status = Column("status", min_width=len("abandoned"))
    table = Table(
        "id", "started", status, "engine", "version", "orders", "rules", "seconds", "error"
    )
    for row in run_with_store(settings, recent):
        seconds = (row.finished_at - row.started_at).total_seconds() if row.finished_at else None
        took = f"{seconds:.1f}" if seconds is not None else "-"
        table.add_row(
            str(row.id),
            f"{row.started_at:%Y-%m-%d %H:%M:%S}",
            row.status,
            str((row.parameters or {}).get("engine", "numpy")),
            str(row.version or "-"),
            str(row.orders_read),
            str(row.rules),
            took,
            (row.error or "")[:60],
        )
    out.print(table)
