"""The plans section of the rebuild on Postgres and SQLite: ladder, quotas and conversion."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.importing.catalog import import_plans, import_subscriptions
from app.jobs.plans_section import plans_section
from app.jobs.section_context import SectionContext
from app.jobs.sections import SECTIONS
from app.offers import PlanCatalog
from app.published import keys
from app.published.plans import decode_plans

PLANS_CSV = """plan_id,name,tier,monthly_price,currency,storage_gb,seats,active,trigger_ratio
basic,Basic 100 GB,1,1.99,EUR,100,0,true,0.9
plus,Plus 2 TB,2,9.99,EUR,2000,1,true,
family,Family 2 TB,3,16.99,EUR,2000,6,true,
legacy,Legacy 10 TB,4,49.99,EUR,10000,5,false,
"""
START = datetime(2026, 3, 1, tzinfo=UTC)


def at(days: int) -> str:
    return (START + timedelta(days=days)).isoformat()


def subscriptions_csv() -> str:
    """11 customers on basic: 4 move to plus within 30 days, 1 after 45, 1 to family, 5 stay."""
    rows = ["customer_id,plan_id,started_at,ended_at"]
    for n in range(4):
        rows += [f"fast-{n},basic,{at(0)},{at(5 + n)}", f"fast-{n},plus,{at(5 + n)},"]
    rows += [f"late,basic,{at(0)},{at(45)}", f"late,plus,{at(45)},"]
    rows += [f"fam,basic,{at(0)},{at(10)}", f"fam,family,{at(10)},"]
    rows += [f"stay-{n},basic,{at(n)}," for n in range(4)]
    rows += [f"gone,basic,{at(0)},{at(20)}"]
    return "\n".join(rows) + "\n"


async def published_catalog(engine: AsyncEngine, tmp_path: Path) -> PlanCatalog:
    (tmp_path / "plans.csv").write_text(PLANS_CSV)
    (tmp_path / "subscriptions.csv").write_text(subscriptions_csv())
    await import_plans(engine, str(tmp_path / "plans.csv"))
    await import_subscriptions(engine, str(tmp_path / "subscriptions.csv"))
    context = SectionContext(catalog={}, since=None, now=datetime.now(UTC))
    [(name, raw)] = await plans_section(engine, context)
    assert name == keys.PLANS
    return decode_plans(raw)


def test_the_rebuild_runs_the_plans_section() -> None:
    assert plans_section in SECTIONS


async def test_conversion_counts_moves_within_30_days_of_joining_the_plan(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    catalog = await published_catalog(engine, tmp_path)

    to_plus, to_family = catalog.conversion["basic", "plus"], catalog.conversion["basic", "family"]
    assert (to_plus.moved, to_plus.base) == (4, 11)  # the late mover is base, not a conversion
    assert to_plus.rate == 4 / 11
    assert (to_family.moved, to_family.base) == (1, 11)
    assert set(catalog.conversion) == {("basic", "plus"), ("basic", "family")}


async def test_plans_carry_tier_price_quotas_activity_and_their_own_trigger_ratio(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    catalog = await published_catalog(engine, tmp_path)

    basic, legacy = catalog.plan("basic"), catalog.plan("legacy")
    assert [plan.plan_id for plan in catalog.plans] == ["basic", "plus", "family", "legacy"]
    assert basic.monthly_price == Decimal("1.99") and basic.currency == "EUR"
    # A zero quota means "not offered"; the trigger_ratio column is a threshold, not a quota.
    assert dict(basic.quotas) == {"storage_gb": 100}
    assert basic.trigger_ratio == 0.9
    assert catalog.plan("plus").trigger_ratio is None
    assert not legacy.active and math.isclose(legacy.quotas["storage_gb"], 10_000)


async def test_a_shop_without_plans_publishes_an_empty_ladder(engine: AsyncEngine) -> None:
    context = SectionContext(catalog={}, since=None, now=datetime.now(UTC))

    [(_, raw)] = await plans_section(engine, context)

    assert decode_plans(raw) == PlanCatalog(())


async def test_the_window_of_the_run_limits_the_evidence(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await published_catalog(engine, tmp_path)
    # Only the last two fast movers (days 7 and 8) fall inside a window opening on day 7.
    context = SectionContext(catalog={}, since=START + timedelta(days=7), now=datetime.now(UTC))

    [(_, raw)] = await plans_section(engine, context)

    assert decode_plans(raw).conversion["basic", "plus"].moved == 2
