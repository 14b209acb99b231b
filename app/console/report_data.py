"""The analyst report's figures for the console, built once per rule version and kept.

Building the report mines the whole order history (about a second on the demo shop), so
each process builds it in a thread, once per rule version (the orders it reads change
with the nightly rebuild that makes a new version; "Recompute" forgets it sooner), however
many pages ask at the same moment. The overview starts that build in the background, so
the report is ready when someone opens it. Heavy modules (mining) load on first use: the
API's workers never pay for them unless someone opens the console.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.jobs.products import read_catalog
from app.jobs.sources import read_history
from app.logs import get_logger
from app.published.snapshot import ProductFacts

if TYPE_CHECKING:
    from app.analytics.due import DueRow
    from app.analytics.history import History
    from app.analytics.reactivation import ReactivationRow
    from app.report.figures import Report

log = get_logger(__name__)


@dataclass(frozen=True)
class ShopReport:
    report: Report
    history: History
    catalog: dict[str, ProductFacts]
    heatmap: bytes  # SVG; empty with fewer than two products
    version: int | None = None  # the rule version live when it was built
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
    def __init__(self) -> None:
        self._held: ShopReport | None = None
        self._building = asyncio.Lock()
        self._warming: asyncio.Task[None] | None = None

    async def get(self, engine: AsyncEngine, version: int | None) -> ShopReport | None:
        """The report of this rule version, or None when there is no order to report on."""
        async with self._building:
            held = self._held
            if held is None or held.version != version:
                self._held = held = await _build(engine, version)
            return held if held.history.n_orders else None

    def ready(self, version: int | None) -> bool:
        """Whether a page asking for this version's report would get it without a build."""
        return self._held is not None and self._held.version == version

    def warm(self, engine: AsyncEngine, version: int | None) -> None:
        """Start building this version's report in the background, unless held or under way."""
        warming = self._warming
        if not self.ready(version) and (warming is None or warming.done()):
            self._warming = asyncio.create_task(self._warm(engine, version))

    async def _warm(self, engine: AsyncEngine, version: int | None) -> None:
        try:
            await self.get(engine, version)
        except Exception:  # the page that asks next builds it again and shows the error
            log.exception("console_report_warm_failed")

    def forget(self) -> None:
        self._held = None

    async def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warming


async def _build(engine: AsyncEngine, version: int | None) -> ShopReport:
    history = await read_history(engine, None)
    catalog = {facts.sku: facts for facts in (await read_catalog(engine)).values()}
    return await asyncio.to_thread(_compute, history, catalog, version)


def _compute(
    history: History, catalog: dict[str, ProductFacts], version: int | None = None
) -> ShopReport:
    from app.console.heatmap_svg import heatmap_svg
    from app.report.figures import ReportParams, build_report

    report = build_report(history, catalog, ReportParams(top=6, rows=20))
    names = [product.name for product in report.combination_products]
    combination = report.combination
    image = (
        heatmap_svg(names, combination.share_of_holders, combination.holders)
        if history.n_orders and len(names) > 1
        else b""
    )
    return ShopReport(report, history, catalog, image, version)


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
