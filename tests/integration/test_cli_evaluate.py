"""`cartlift evaluate`: the offline quality of the rules against a most-popular baseline."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner, Result

from app.cli.main import app
from app.demo.shop import DemoFiles
from app.evaluation.holdout import Case, holdout_cases, score
from tests.conftest import import_demo

SPLIT = "2026-09-01"  # the demo's year starts 2025-11-01: ten months to learn, two to test


async def cartlift(database_url: str, *args: str) -> Result:
    runner = CliRunner()
    env = {"CARTLIFT_DATABASE_URL": database_url, "CARTLIFT_LOG_LEVEL": "WARNING"}
    return await asyncio.to_thread(lambda: runner.invoke(app, list(args), env=env))


def test_hit_rate_and_mrr_follow_the_rank_of_the_hidden_item() -> None:
    cases = [Case(("a",), "x"), Case(("b",), "y"), Case(("c",), "z"), Case(("d",), "w")]
    answers = {"a": ["x", "q"], "b": ["q", "y"], "c": ["q", "r"], "d": []}

    result = score("m", cases, lambda cart: answers[cart[0]], catalogue=10)

    assert result.hit_rate == 0.5
    assert result.mrr == pytest.approx((1 + 1 / 2) / 4)
    assert result.coverage == pytest.approx(4 / 10)  # x, q, y, r
    assert result.cases == 4


def test_holdout_hides_one_item_of_each_basket_of_two_or_more_reproducibly() -> None:
    baskets = [["b", "a"], ["c"], ["d", "e", "f", "e"]]

    cases = holdout_cases(baskets, seed=3)

    assert len(cases) == 2
    for case, basket in zip(cases, (["a", "b"], ["d", "e", "f"]), strict=True):
        assert sorted((*case.cart, case.hidden)) == basket
    assert holdout_cases(baskets, seed=3) == cases


async def test_rules_beat_the_popularity_baseline_on_the_demo_shop(
    engine: AsyncEngine, database_url: str, demo_files: DemoFiles
) -> None:
    await import_demo(engine, demo_files)

    result = await cartlift(database_url, "evaluate", "--split-date", SPLIT, "--json")

    assert result.exit_code == 0, result.stderr
    report: dict[str, Any] = orjson.loads(result.stdout)
    rules, popular = report["rules"], report["popular"]
    assert rules["cases"] == popular["cases"] > 100
    assert rules["hit_rate"] > popular["hit_rate"]
    assert rules["mrr"] > popular["mrr"]
    assert rules["coverage"] > popular["coverage"]
    assert report["train_orders"] + report["test_orders"] == demo_files.n_orders


async def test_the_table_names_both_models_and_the_split(
    pg_engine: AsyncEngine, postgres_url: str, demo_files: DemoFiles
) -> None:
    await import_demo(pg_engine, demo_files)

    result = await cartlift(postgres_url, "evaluate", "--split-date", SPLIT, "--k", "5")

    assert result.exit_code == 0, result.stderr
    for text in ("hit rate@5", "MRR@5", "coverage", "rules", "popular", "split 2026-09-01"):
        assert text in result.stdout


async def test_a_split_with_nothing_to_learn_from_or_a_bad_date_is_an_error(
    pg_engine: AsyncEngine, postgres_url: str, demo_files: DemoFiles
) -> None:
    await import_demo(pg_engine, demo_files)
    early = await cartlift(postgres_url, "evaluate", "--split-date", "2020-01-01")
    assert early.exit_code == 1 and "no orders before 2020-01-01" in early.stderr
    late = await cartlift(postgres_url, "evaluate", "--split-date", "2030-01-01")
    assert late.exit_code == 1 and "no order with 2+ items on or after" in late.stderr
    bad = await cartlift(postgres_url, "evaluate", "--split-date", "soon")
    assert bad.exit_code == 2 and "--split-date must be an ISO 8601 date" in bad.stderr
