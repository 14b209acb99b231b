"""`cartlift report`: the analyst's report as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.campaign import Since, load_shop
from app.cli.common import console, fail
from app.cli.jobs import parse_window
from app.paths import DEFAULT_VAR_DIR

DEFAULT_OUTPUT = DEFAULT_VAR_DIR / "report.html"


def report_command(
    output: Annotated[Path, typer.Option(help="The HTML file to write")] = DEFAULT_OUTPUT,
    top: Annotated[
        int, typer.Option(min=2, max=12, help="Top products in the combination matrix")
    ] = 3,
    min_count: Annotated[
        int | None, typer.Option(min=1, help="Orders a rule or bundle needs (default adapts)")
    ] = None,
    min_buyers: Annotated[
        int | None, typer.Option(min=1, help="Holders a hook product needs (default 1 %)")
    ] = None,
    since: Since = None,
) -> None:
    """Portfolio KPIs, top products, how they combine (heatmap), rules, bundles, hook products."""
    # Imported here: matplotlib alone adds a second to every other command's start.
    from app.report.figures import ReportParams, build_report
    from app.report.heatmap import heatmap_png
    from app.report.html import render_html

    shop = load_shop(parse_window(since))
    if shop.history.n_orders == 0:
        raise fail("no orders to report on (import orders first)")
    params = ReportParams(top=top, min_count=min_count, min_buyers=min_buyers)
    report = build_report(shop.history, shop.catalog, params)
    names = [product.name for product in report.combination_products]
    combination = report.combination
    image = (
        heatmap_png(names, combination.share_of_holders, combination.holders)
        if len(names) > 1
        else b""
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_html(report, image), encoding="utf-8")
    console.print(f"wrote the report to {output}")
