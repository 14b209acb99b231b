"""/console/report: the analyst report as console pages, each table also as a CSV download."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.analytics.rows import NEXT_SALE_COLUMNS, REACTIVATION_COLUMNS, write_rows
from app.api.deps import Resources, ResourcesDep
from app.console import report_data
from app.console.report_data import ShopReport
from app.console.session import (
    PREFIX,
    ChangeDep,
    ConsoleSession,
    ConsoleState,
    ConsoleStateDep,
    SessionDep,
)
from app.console.templates import page

router = APIRouter(prefix=f"{PREFIX}/report", include_in_schema=False)
Format = Literal["html", "csv"]
BUNDLE_COLUMNS = ("skus", "names", "orders", "support", "lift", "price")
HOOK_COLUMNS = ("sku", "name", "buyers", "buyers_average_ticket", "versus_portfolio")
SHOWN = 100  # rows a campaign page shows; the CSV has them all
Day = Annotated[date | None, Query()]


@router.get("", response_class=HTMLResponse)
async def report_overview(
    request: Request, session: SessionDep, state: ConsoleStateDep, resources: ResourcesDep
) -> Response:
    shop = await _shop(state, resources)
    return _page(request, session, "report.html", "Report", "overview", shop)


@router.get("/heatmap.svg")
async def heatmap(
    _session: SessionDep, state: ConsoleStateDep, resources: ResourcesDep
) -> Response:
    shop = await _shop(state, resources)
    if shop is None or not shop.heatmap:
        return Response(status_code=404)
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    return Response(shop.heatmap, media_type="image/svg+xml", headers=headers)


@router.get("/campaigns", response_class=HTMLResponse)
async def campaigns(
    request: Request,
    session: SessionDep,
    state: ConsoleStateDep,
    resources: ResourcesDep,
    day: Day = None,
    format: Format = "html",
    kind: Literal["reactivation", "next-sale"] = "reactivation",
) -> Response:
    shop = await _shop(state, resources)
    on = day or datetime.now(UTC).date()
    targets = await report_data.campaign(shop, "reactivation", on) if shop else []
    due = await report_data.campaign(shop, "next-sale", on) if shop else []
    if format == "csv":
        if kind == "reactivation":
            return csv_download("reactivation.csv", _dicts(targets), REACTIVATION_COLUMNS)
        return csv_download(f"next-sale-{on}.csv", _dicts(due), NEXT_SALE_COLUMNS)
    extra = {"targets": targets, "due": due, "day": on, "shown": SHOWN}
    return _page(request, session, "report_campaigns.html", "Campaigns", "campaigns", shop, extra)


@router.get("/{table}", response_class=HTMLResponse)
async def report_table(
    request: Request,
    session: SessionDep,
    state: ConsoleStateDep,
    resources: ResourcesDep,
    table: Literal["bundles", "hooks"],
    format: Format = "html",
) -> Response:
    """Bundles or hook products: a page, or (format=csv) every row as a file."""
    shop = await _shop(state, resources)
    title, filename, columns, rows = TABLES[table]
    if format == "csv":
        return csv_download(filename, rows(shop) if shop else [], columns)
    return _page(request, session, f"report_{table}.html", title, table, shop)


@router.post("/refresh")
async def refresh(_session: ChangeDep, state: ConsoleStateDep) -> Response:
    state.report.forget()
    return RedirectResponse(f"{PREFIX}/report", status_code=303)


async def _shop(state: ConsoleState, resources: Resources) -> ShopReport | None:
    loaded = resources.reader.loaded
    return await state.report.get(
        state.engine(resources.settings), loaded.version if loaded else None
    )


def csv_download(filename: str, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> Response:
    buffer = io.StringIO()
    write_rows(rows, columns, buffer, "csv")
    disposition = f'attachment; filename="{filename}"'
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


def _page(
    request: Request,
    session: ConsoleSession,
    template: str,
    title: str,
    tab: str,
    shop: ShopReport | None,
    extra: dict[str, Any] | None = None,
) -> Response:
    context = {"title": title, "tab": tab, "shop": shop, **(extra or {})}
    return page(request, template, session, context)


def _bundle_rows(shop: ShopReport) -> list[dict[str, Any]]:
    report = shop.report
    return [
        {
            "skus": "|".join(bundle.skus),
            "names": " + ".join(shop.name(sku) for sku in bundle.skus),
            "orders": bundle.orders,
            "support": bundle.support,
            "lift": bundle.lift,
            "price": bundle.price,
        }
        for bundle in (*report.pairs, *report.triples)
    ]


def _hook_rows(shop: ShopReport) -> list[dict[str, Any]]:
    return [
        {
            "sku": hook.sku,
            "name": shop.name(hook.sku),
            "buyers": hook.buyers,
            "buyers_average_ticket": hook.buyers_average_ticket,
            "versus_portfolio": hook.versus_portfolio,
        }
        for hook in shop.report.hooks
    ]


def _dicts(rows: Iterable[Any]) -> list[dict[str, Any]]:
    from dataclasses import asdict

    return [asdict(row) for row in rows]


Table = tuple[str, str, Sequence[str], Callable[[ShopReport], list[dict[str, Any]]]]
TABLES: dict[str, Table] = {
    "bundles": ("Bundles", "bundles.csv", BUNDLE_COLUMNS, _bundle_rows),
    "hooks": ("Hook products", "hook-products.csv", HOOK_COLUMNS, _hook_rows),
}
