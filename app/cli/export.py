"""Export commands: the orders as Parquet, for the Spark engine or any other reader."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import HELP_MARKUP, console, fail, load_settings, run

if TYPE_CHECKING:
    from app.jobs.orders_export import Exported

export_app = typer.Typer(
    help="Export data out of the database.", no_args_is_help=True, rich_markup_mode=HELP_MARKUP
)


@export_app.command("orders")
def export_orders(
    output: Annotated[
        Path, typer.Option(help="Directory for orders.parquet and order_lines.parquet")
    ],
    fmt: Annotated[str, typer.Option("--format", help="parquet")] = "parquet",
) -> None:
    """Every order and order line, for `cartlift rebuild --engine spark --orders-parquet DIR`."""
    from app.jobs.orders_export import FORMATS, ExportUnavailable

    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}", 2)
    if output.exists() and not output.is_dir():
        raise fail(f"--output must be a directory, {output} is a file", 2)
    settings = load_settings()
    try:
        done = run(_export(settings.reveal_database_url(), output))
    except ExportUnavailable as error:
        raise fail(str(error)) from None
    console.print(f"exported {done.orders} orders and {done.lines} order lines to {output}")


async def _export(database_url: str, output: Path) -> Exported:
    from app.db.engine import make_engine
    from app.jobs.orders_export import export_orders

    engine = make_engine(database_url)
    try:
        return await export_orders(engine, output)
    finally:
        await engine.dispose()
