"""The experiment report from the database: what the CLI, the HTML report and the console show."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from app.events.attribution import attribute
from app.events.queries import PRE_DAYS, load_exposures, load_purchases
from app.events.report import ExperimentReport, experiment_report


async def read_experiment(
    engine: AsyncEngine,
    holdout_percent: float,
    attribution_hours: float,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ExperimentReport:
    exposures = await load_exposures(engine, since, until)
    purchases = await load_purchases(engine, since, until)
    attribution = attribute(exposures, purchases, attribution_hours, PRE_DAYS)
    return experiment_report(attribution, holdout_percent)
