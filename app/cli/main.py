"""The typer application wiring every subcommand."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated

import typer

from app.cli import data, evaluate, jobs, report
from app.cli.campaign import campaign_app
from app.cli.common import HELP_MARKUP, fail, load_settings, run_cli
from app.cli.events import events_app, experiment_app
from app.cli.export import export_app
from app.cli.rules import rules_app
from app.security.protected import open_bind_refusal

WORKER_STARTUP_SECONDS = 60
app = typer.Typer(
    name="cartlift",
    help="Cross-sell, upsell and next-sale recommendations from co-purchase rules.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=HELP_MARKUP,
)
app.command("migrate")(data.migrate)
app.command("import")(data.import_file)
app.command("demo")(data.demo)
app.command("rebuild")(jobs.rebuild_command)
app.command("rollback")(jobs.rollback)
app.command("builds")(jobs.builds)
app.command("evaluate")(evaluate.evaluate_command)
app.add_typer(rules_app, name="rules")
app.add_typer(export_app, name="export")
app.add_typer(campaign_app, name="campaign")
app.add_typer(events_app, name="events")
app.add_typer(experiment_app, name="experiment")
app.command("report")(report.report_command)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Serve the HTTP API.

    SIGTERM drains: /readyz answers 503 (for CARTLIFT_SHUTDOWN_DELAY_SECONDS, still
    accepting), then the port closes, requests in flight get up to
    CARTLIFT_SHUTDOWN_DRAIN_SECONDS to finish, buffered exposures are written, and the
    command exits 0.
    """
    import uvicorn

    settings = load_settings()
    refusal = open_bind_refusal(host, settings.keys_configured, settings.open_api)
    if refusal is not None:
        raise fail(refusal, code=2)
    # uvicorn re-raises the SIGTERM it shut down for, once done: a drained stop exits 0.
    signal.signal(signal.SIGTERM, _stopped_on_request)
    with metrics_dir(workers):
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,  # load_settings set up JSON logging; workers redo it in create_app
            log_level=settings.log_level.lower(),
            access_log=False,
            # Workers import numpy, scipy and SQLAlchemy before answering the supervisor's
            # ping; on a busy host that takes longer than uvicorn's 5 s and they get killed.
            timeout_worker_healthcheck=WORKER_STARTUP_SECONDS,
            timeout_graceful_shutdown=settings.shutdown_drain_seconds,
        )


def _stopped_on_request(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


@contextmanager
def metrics_dir(workers: int) -> Iterator[None]:
    """Each worker writes its metrics to one directory so /metrics adds them up."""
    from app import metrics

    given = metrics.multiprocess_dir()
    if given is not None:
        metrics.wipe_multiprocess_dir(given)
    if given is not None or workers == 1:
        yield
        return
    path = tempfile.mkdtemp(prefix="cartlift-metrics-")
    os.environ[metrics.MULTIPROC_ENV] = path
    try:
        yield
    finally:
        shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    run_cli(app)
