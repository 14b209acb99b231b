"""`cartlift events drain`: move the event log into the database once, then exit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import console, load_settings, run

if TYPE_CHECKING:
    from app.events.drain import Drained
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
    """Catch up once: commit what the event log holds to the database, then exit 0."""
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

    event_log = open_event_log(settings.redis_url, settings.events_journal_dir)
    engine = make_engine(settings.database_url)
    try:
        return await drain_once(event_log, engine, batch or BATCH_ENTRIES)
    finally:
        await event_log.close()
        await engine.dispose()
