"""Data commands: migrate, import, demo."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import console, fail, load_settings, run

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


class Kind(StrEnum):
    products = "products"
    orders = "orders"
    upgrades = "upgrades"
    plans = "plans"
    subscriptions = "subscriptions"


def migrate() -> None:
    """Create or upgrade the database schema (safe to run on every start)."""
    from app.db.migrate import upgrade_to_head
    from app.failures import hide_locations

    settings = load_settings()
    try:
        upgrade_to_head(settings.reveal_database_url())
    except Exception as error:
        raise fail(f"migration failed: {hide_locations(str(error))}") from None
    kind = "sqlite" if settings.is_sqlite else "postgresql"
    console.print(f"schema is current ({kind} at CARTLIFT_DATABASE_URL)")


def import_file(
    kind: Annotated[Kind, typer.Argument(help="What the file holds")],
    file: Annotated[str, typer.Argument(help="A .csv or .csv.gz file, or - for stdin")],
) -> None:
    """Import a CSV file, all or nothing; bad rows are reported with their line numbers."""
    from app.importing.rows import ImportRejected

    settings = load_settings()
    try:
        message = run(_import(settings.reveal_database_url(), kind, file))
    except ImportRejected as error:
        raise fail(str(error)) from None
    except FileNotFoundError as error:
        raise fail(str(error), 2) from None
    console.print(message)


async def _import(database_url: str, kind: Kind, file: str) -> str:
    from app.db.engine import make_engine
    from app.importing import catalog

    importers = {
        Kind.products: catalog.import_products,
        Kind.upgrades: catalog.import_upgrades,
        Kind.plans: catalog.import_plans,
        Kind.subscriptions: catalog.import_subscriptions,
    }
    engine = make_engine(database_url)
    try:
        if kind is Kind.orders:
            return await _import_orders(engine, file)
        count = await importers[kind](engine, file)
        return f"imported {count} {kind.value} from {file}"
    finally:
        await engine.dispose()


async def _import_orders(engine: AsyncEngine, file: str) -> str:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from app.importing.orders import import_orders

    with Progress(
        SpinnerColumn(),
        TextColumn("importing order lines: {task.completed:,.0f}"),
        TimeElapsedColumn(),
        console=console,
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("import", total=None)
        summary = await import_orders(engine, file, lambda n: progress.advance(task, n))
    return f"imported {summary.lines} order lines in {summary.orders} orders from {file}" + (
        f" ({summary.new_products} new SKUs added to the catalog)" if summary.new_products else ""
    )


def demo(
    directory: Annotated[Path, typer.Option(help="Where the demo CSV files are written")] = Path(
        "var/demo"
    ),
    orders: Annotated[int, typer.Option(min=100, help="Number of orders")] = 50_000,
    customers: Annotated[int, typer.Option(min=10, help="Number of customers")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same shop")] = 7,
) -> None:
    """Write the demo florist, gift and electronics shop and import it."""
    from app.db.migrate import upgrade_to_head
    from app.demo.shop import write_demo_shop

    settings = load_settings()
    upgrade_to_head(settings.reveal_database_url())
    files = write_demo_shop(directory, seed=seed, n_customers=customers, n_orders=orders)
    console.print(f"wrote the demo shop to {directory}")
    steps = [
        (Kind.products, files.products),
        (Kind.upgrades, files.upgrades),
        (Kind.plans, files.plans),
        (Kind.orders, files.orders),
        (Kind.subscriptions, files.subscriptions),
    ]
    for kind, path in steps:
        console.print(run(_import(settings.reveal_database_url(), kind, str(path))))
