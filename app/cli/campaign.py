"""Campaign exports for marketing: reactivation targets and next-sale mailings due on a day."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.cli.common import HELP_MARKUP, console, fail, load_settings, run
from app.cli.jobs import parse_window

if TYPE_CHECKING:
    from app.analytics.history import History
    from app.published.snapshot import ProductFacts

FORMATS = ("csv", "jsonl")

campaign_app = typer.Typer(
    help="Campaign exports for marketing.", no_args_is_help=True, rich_markup_mode=HELP_MARKUP
)
Since = Annotated[str | None, typer.Option(help="Only orders in this window, e.g. 365d")]
Format = Annotated[str, typer.Option("--format", help="csv or jsonl")]
Output = Annotated[Path | None, typer.Option(help="Write here instead of stdout")]


@dataclass(frozen=True)
class Shop:
    history: History
    catalog: dict[str, ProductFacts]

    @property
    def prices(self) -> dict[str, float | None]:
        return {sku: facts.price for sku, facts in self.catalog.items()}

    @property
    def available(self) -> set[str]:
        return {sku for sku, facts in self.catalog.items() if facts.available}


def load_shop(since: timedelta | None) -> Shop:
    """History and catalog straight from the database (campaigns never need the rule store)."""
    from app.db.engine import make_engine
    from app.jobs.products import read_catalog
    from app.jobs.sources import read_history

    settings = load_settings()
    start = datetime.now(UTC) - since if since else None

    async def read() -> Shop:
        engine = make_engine(settings.reveal_database_url())
        try:
            history = await read_history(engine, start)
            catalog = {facts.sku: facts for facts in (await read_catalog(engine)).values()}
        finally:
            await engine.dispose()
        return Shop(history, catalog)

    return run(read())


@campaign_app.command("reactivation")
def reactivation(
    below: Annotated[
        float, typer.Option(min=0, help="Target customers under BELOW x the portfolio ticket")
    ] = 1.0,
    min_confidence: Annotated[str, typer.Option(help="Strong rule: confidence at least")] = "0.3",
    min_lift: Annotated[str, typer.Option(help="Strong rule: lift at least")] = "1.2",
    min_count: Annotated[
        int, typer.Option(min=1, help="Strong rule: customers holding both at least")
    ] = 10,
    since: Since = None,
    fmt: Format = "csv",
    output: Output = None,
) -> None:
    """Below-average customers holding X but not Y, although most X holders hold Y."""
    from app.analytics.holding import holdings
    from app.analytics.reactivation import ReactivationParams, reactivation_targets
    from app.analytics.rows import REACTIVATION_COLUMNS
    from app.analytics.tickets import average_tickets
    from app.mining.thresholds import InvalidThresholds, exact_fraction

    _check_format(fmt)
    try:
        params = ReactivationParams(
            below,
            exact_fraction("min_confidence", min_confidence),
            exact_fraction("min_lift", min_lift),
            min_count,
        )
    except InvalidThresholds as error:
        raise fail(str(error), 2) from None
    shop = load_shop(parse_window(since))
    history = shop.history
    rows = reactivation_targets(
        history, holdings(history), average_tickets(history), shop.prices, shop.available, params
    )
    _write((asdict(row) for row in rows), REACTIVATION_COLUMNS, fmt, output, "customers")


@campaign_app.command("next-sale")
def next_sale(
    on: Annotated[str, typer.Option("--on", help="The day to send, YYYY-MM-DD")],
    window_days: Annotated[
        int, typer.Option(min=1, help="Follow-ups count within this many days")
    ] = 90,
    min_confidence: Annotated[
        float, typer.Option(min=0, max=1, help="Skip follow-ups and rebuys less likely than this")
    ] = 0.1,
    min_count: Annotated[
        int, typer.Option(min=1, help="Customers a follow-up or rebuy pattern needs")
    ] = 5,
    since: Since = None,
    fmt: Format = "csv",
    output: Output = None,
) -> None:
    """Next-sale and rebuy mailings due on one day: customer, sku, send_on, reason."""
    from app.analytics.due import due_on
    from app.analytics.rows import NEXT_SALE_COLUMNS
    from app.mining.sequences import SequenceParams, mine_follow_ups

    _check_format(fmt)
    try:
        day = date.fromisoformat(on)
    except ValueError:
        raise fail(f"--on must be a date like 2026-11-24, got {on!r}", 2) from None
    shop = load_shop(parse_window(since))
    params = SequenceParams(window_days=window_days, min_count=min_count, min_repeaters=min_count)
    sequences, refills = mine_follow_ups(shop.history.purchases(), params)
    rows = due_on(
        shop.history,
        sequences,
        refills,
        day,
        shop.available,
        min_confidence,
    )
    _write((asdict(row) for row in rows), NEXT_SALE_COLUMNS, fmt, output, "mailings")


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}", 2)


def _write(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], fmt: str, output: Path | None, what: str
) -> None:
    from app.analytics.rows import write_rows

    if output is None:
        write_rows(rows, columns, sys.stdout, fmt)
        return
    with open(output, "w", encoding="utf-8", newline="") as handle:
        written = write_rows(rows, columns, handle, fmt)
    console.print(f"wrote {written} {what} to {output}")
