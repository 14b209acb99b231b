"""The analyst report's figures for the console, read from the database and kept a while.

Building the report mines the whole order history (seconds on a big shop), so each process
keeps the last one for REPORT_SECONDS and builds it in a thread, once, however many pages
ask at the same moment. Heavy modules (mining, matplotlib) load on first use: the API's
workers never pay for them unless someone opens the report.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.jobs.products import read_catalog
from app.jobs.sources import read_history
from app.published.snapshot import ProductFacts

if TYPE_CHECKING:
    from app.analytics.due import DueRow
    from app.analytics.history import History
    from app.analytics.reactivation import ReactivationRow
    from app.report.figures import Report

REPORT_SECONDS = 600.0


@dataclass(frozen=True)
class ShopReport:
    report: Report
    history: History
    catalog: dict[str, ProductFacts]
    heatmap: bytes  # PNG; empty with fewer than two products
    built: float = field(default_factory=time.monotonic)
    # Campaign lists, computed on first request: seconds each on a big shop.
    campaigns: dict[tuple[str, date | None], list[Any]] = field(default_factory=dict)

    def name(self, sku: str) -> str:
        facts = self.catalog.get(sku)
        return facts.name if facts else sku

    @property
    def available(self) -> set[str]:
        return {sku for sku, facts in self.catalog.items() if facts.available}


class ReportCache:
    def __init__(self, keep_seconds: float = REPORT_SECONDS) -> None:
        self.keep_seconds = keep_seconds
        self._held: ShopReport | None = None
        self._building = asyncio.Lock()

    async def get(self, engine: AsyncEngine) -> ShopReport | None:
        """The report, or None when there is no order to report on."""
        async with self._building:
            held = self._held
            if held is None or time.monotonic() - held.built > self.keep_seconds:
                self._held = held = await _build(engine)
            return held if held.history.n_orders else None

    def forget(self) -> None:
        self._held = None


async def _build(engine: AsyncEngine) -> ShopReport:
    history = await read_history(engine, None)
    catalog = {facts.sku: facts for facts in (await read_catalog(engine)).values()}
    return await asyncio.to_thread(_compute, history, catalog)


def _compute(history: History, catalog: dict[str, ProductFacts]) -> ShopReport:
    from app.report.figures import ReportParams, build_report
    from app.report.heatmap import heatmap_png

    report = build_report(history, catalog, ReportParams(top=6, rows=20))
    names = [product.name for product in report.combination_products]
    combination = report.combination
    image = (
        heatmap_png(names, combination.share_of_holders, combination.holders)
        if history.n_orders and len(names) > 1
        else b""
    )
    return ShopReport(report, history, catalog, image)


async def campaign(shop: ShopReport, kind: str, day: date) -> list[Any]:
    """Reactivation targets, or next-sale mailings due on `day`; each list computed once."""
    key = (kind, None if kind == "reactivation" else day)
    if key not in shop.campaigns:
        if kind == "reactivation":
            shop.campaigns[key] = await asyncio.to_thread(reactivation, shop)
        else:
            shop.campaigns[key] = await asyncio.to_thread(next_sale_due, shop, day)
    return shop.campaigns[key]


def reactivation(shop: ShopReport) -> list[ReactivationRow]:
    """Below-average customers holding X but not Y, although most X holders hold Y."""
    from app.analytics.holding import holdings
    from app.analytics.reactivation import ReactivationParams, reactivation_targets
    from app.analytics.tickets import average_tickets

    history = shop.history
    prices = {sku: facts.price for sku, facts in shop.catalog.items()}
    return reactivation_targets(
        history,
        holdings(history),
        average_tickets(history),
        prices,
        shop.available,
        ReactivationParams(),
    )


def next_sale_due(shop: ShopReport, day: date) -> list[DueRow]:
    """Next-sale and rebuy mailings due on a day, as `cartlift campaign next-sale` lists them."""
    from app.analytics.due import due_on
    from app.mining.sequences import SequenceParams, mine_follow_ups

    params = SequenceParams(window_days=90, min_count=5, min_repeaters=5)
    sequences, refills = mine_follow_ups(shop.history.purchases(), params)
    return due_on(shop.history, sequences, refills, day, shop.available, 0.1)
