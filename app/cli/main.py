"""The typer application wiring every subcommand."""

from __future__ import annotations

import os
import tempfile
from typing import Annotated

import typer

from app.cli import data, jobs
from app.cli.common import load_settings
from app.cli.rules import rules_app

app = typer.Typer(
    name="cartlift",
    help="Cross-sell, upsell and next-sale recommendations from co-purchase rules.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("migrate")(data.migrate)
app.command("import")(data.import_file)
app.command("demo")(data.demo)
app.command("rebuild")(jobs.rebuild_command)
app.command("rollback")(jobs.rollback)
app.command("builds")(jobs.builds)
app.add_typer(rules_app, name="rules")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    settings = load_settings()
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics here so /metrics adds them up, whichever answers.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cartlift-metrics-")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


def main() -> None:
    app()
