"""`cartlift events drain` and `cartlift experiment report`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import console, load_settings, run

if TYPE_CHECKING:
    from app.events.drain import Drained
    from app.events.report import ExperimentReport
    from app.settings import Settings

events_app = typer.Typer(
    help="Events and exposures: the log and the database.", no_args_is_help=True
)


@events_app.command("drain")
def drain(
    batch: Annotated[
        int | None,
        typer.Option(min=1, max=10_000, help="Log entries per transaction [default: 200]"),
    ] = None,
) -> None:
    """Catch up once: commit what the event log holds to the database, then exit 0.

    Waits its turn when another drainer (a worker of `serve`, another cron run) is at work.
    """
    settings = load_settings()
    done = run(_drain(settings, batch))
    console.print(
        f"drained {done.entries} log entries: {done.events} events, {done.exposures} exposures,"
        f" {done.outcomes} upgrade outcomes",
        soft_wrap=True,
    )


async def _drain(settings: Settings, batch: int | None) -> Drained:
    from app.db.engine import make_engine
    from app.events.drain import BATCH_ENTRIES, drain_once
    from app.events.stream import open_event_log

    event_log = open_event_log(settings.reveal_redis_url(), settings.events_journal_dir)
    engine = make_engine(settings.reveal_database_url())
    try:
        return await drain_once(
            event_log, engine, batch or BATCH_ENTRIES, settings.attribution_hours
        )
    finally:
        await event_log.close()
        await engine.dispose()


experiment_app = typer.Typer(help="The holdout experiment.", no_args_is_help=True)


@experiment_app.command("report")
def report(
    since: Annotated[str | None, typer.Option(help="First exposure moment (ISO 8601)")] = None,
    until: Annotated[str | None, typer.Option(help="End, exclusive (ISO 8601)")] = None,
    output_format: Annotated[str, typer.Option("--format", help="text, json or html")] = "text",
) -> None:
    """Per-arm revenue and conversion, their uplift with 95 % intervals, and the SRM check."""
    if output_format not in ("text", "json", "html"):
        raise typer.BadParameter("expected text, json or html", param_hint="--format")
    settings = load_settings()
    found = read_report(settings, _moment(since, "--since"), _moment(until, "--until"))
    sys.stdout.write(_rendered(found, output_format))


def read_report(
    settings: Settings, since: datetime | None, until: datetime | None
) -> ExperimentReport:
    return run(_report(settings, since, until))


def _moment(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"not an ISO 8601 date or time: {text!r}", param_hint=name
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _report(
    settings: Settings, since: datetime | None, until: datetime | None
) -> ExperimentReport:
    from app.db.engine import make_engine
    from app.events.experiment import read_experiment

    engine = make_engine(settings.reveal_database_url())
    try:
        return await read_experiment(
            engine, settings.holdout_percent, settings.attribution_hours, since, until
        )
    finally:
        await engine.dispose()


def _rendered(found: ExperimentReport, output_format: str) -> str:
    from app.events import render

    if output_format == "json":
        import orjson

        return orjson.dumps(found.as_json(), option=orjson.OPT_INDENT_2).decode() + "\n"
    if output_format == "html":
        head = "<!doctype html><meta charset=utf-8><title>cartlift experiment</title>"
        return head + render.as_html(found) + "\n"
    return render.as_text(found)
