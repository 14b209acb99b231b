"""`cartlift rules export|show` on a shop small enough to work every metric out by hand.

Ten baskets: {apple, bread} x4, {apple, bread, cheese} x2, {cheese} x2, {bread}, {dates}.
With --min-count 2 (and the default confidence 0.05, lift 1.01) exactly four rules
survive; apple -> bread and both pair rules have confidence 1, so conviction is infinite.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner, Result

from app.cli.main import app
from app.importing.catalog import import_products
from app.importing.orders import import_orders
from app.serving.export import RULE_COLUMNS
from tests.conftest import REDIS_URL

BASKETS = [["apple", "bread"]] * 4 + [["apple", "bread", "cheese"]] * 2
BASKETS += [["cheese"]] * 2 + [["bread"], ["dates"]]
INF = math.inf
# antecedent, consequent: support, confidence, lift, leverage, conviction, count
EXPECTED = {
    ("apple", "bread"): (0.6, 1.0, 1 / 0.7, 0.6 - 0.6 * 0.7, INF, 6),
    ("bread", "apple"): (0.6, 6 / 7, (6 / 7) / 0.6, 0.6 - 0.7 * 0.6, 0.4 / (1 / 7), 6),
    ("apple|cheese", "bread"): (0.2, 1.0, 1 / 0.7, 0.2 - 0.2 * 0.7, INF, 2),
    ("bread|cheese", "apple"): (0.2, 1.0, 1 / 0.6, 0.2 - 0.2 * 0.6, INF, 2),
}


async def cartlift(env: dict[str, str], *args: str) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(lambda: runner.invoke(app, list(args), env=env))


def write_shop(directory: Path) -> tuple[Path, Path]:
    products = directory / "products.csv"
    products.write_text(
        "sku,name,category,price,cost,in_stock\n"
        + "".join(
            f"{sku},{sku.title()},food,2.50,1.00,true\n"
            for sku in ("apple", "bread", "cheese", "dates")
        )
    )
    orders = directory / "orders.csv"
    lines = ["order_id,customer_id,ordered_at,sku,quantity,unit_price"]
    for number, basket in enumerate(BASKETS, start=1):
        lines += [
            f"o{number},c{number},2026-01-{number:02d}T10:00:00Z,{sku},1,2.50" for sku in basket
        ]
    orders.write_text("\n".join(lines) + "\n")
    return products, orders


@pytest.fixture
async def env(
    pg_engine: AsyncEngine, postgres_url: str, redis_client: Redis, tmp_path: Path
) -> dict[str, str]:
    """The tiny shop imported and its rules published."""
    products, orders = write_shop(tmp_path)
    await import_products(pg_engine, str(products))
    await import_orders(pg_engine, str(orders))
    variables = {
        "CARTLIFT_DATABASE_URL": postgres_url,
        "CARTLIFT_REDIS_URL": REDIS_URL,
        "CARTLIFT_LOG_LEVEL": "WARNING",
    }
    published = await cartlift(variables, "rebuild", "--min-count", "2")
    assert published.exit_code == 0, published.stderr
    return variables


def assert_rule(row: dict[str, Any]) -> None:
    expected = EXPECTED[(row["antecedent"], row["consequent"])]
    support, confidence, lift, leverage, conviction, count = expected
    assert float(row["support"]) == pytest.approx(support, abs=1e-12)
    assert float(row["confidence"]) == pytest.approx(confidence, abs=1e-12)
    assert float(row["lift"]) == pytest.approx(lift, abs=1e-12)
    assert float(row["leverage"]) == pytest.approx(leverage, abs=1e-12)
    if math.isinf(conviction):
        assert row["conviction"] == "inf"
    else:
        assert float(row["conviction"]) == pytest.approx(conviction, abs=1e-9)
    assert int(row["count"]) == count


async def test_csv_export_has_the_documented_columns_and_exact_metrics(
    env: dict[str, str],
) -> None:
    result = await cartlift(env, "rules", "export")

    assert result.exit_code == 0, result.stderr
    header, *_ = result.stdout.splitlines()
    assert header == ",".join(RULE_COLUMNS)
    assert RULE_COLUMNS == (
        "antecedent",
        "consequent",
        "support",
        "confidence",
        "lift",
        "leverage",
        "conviction",
        "count",
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {(row["antecedent"], row["consequent"]) for row in rows} == set(EXPECTED)
    for row in rows:
        assert_rule(row)


async def test_jsonl_export_writes_one_object_per_rule_with_conviction_inf_as_text(
    env: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "rules.jsonl"

    result = await cartlift(env, "rules", "export", "--format", "jsonl", "--output", str(target))

    assert result.exit_code == 0 and f"wrote 4 rules to {target}" in result.stderr
    rows = [orjson.loads(line) for line in target.read_text().splitlines()]
    assert all(list(row) == list(RULE_COLUMNS) for row in rows)
    assert {(row["antecedent"], row["consequent"]) for row in rows} == set(EXPECTED)
    for row in rows:
        assert_rule(row)


async def test_export_of_an_older_version_and_of_an_unknown_one(env: dict[str, str]) -> None:
    assert (await cartlift(env, "rebuild", "--min-count", "2")).exit_code == 0
    older = await cartlift(env, "rules", "export", "--version", "1")
    assert older.exit_code == 0 and len(older.stdout.splitlines()) == 1 + len(EXPECTED)
    unknown = await cartlift(env, "rules", "export", "--version", "9")
    assert unknown.exit_code == 1 and "version 9 is not held" in unknown.stderr
    wrong = await cartlift(env, "rules", "export", "--format", "xml")
    assert wrong.exit_code == 2 and "--format must be one of csv, jsonl" in wrong.stderr


async def test_export_before_any_publish_says_so(
    pg_engine: AsyncEngine, postgres_url: str, redis_client: Redis
) -> None:
    env = {"CARTLIFT_DATABASE_URL": postgres_url, "CARTLIFT_REDIS_URL": REDIS_URL}
    result = await cartlift(env, "rules", "export")
    assert result.exit_code == 1 and "no rule version has been published yet" in result.stderr


async def test_show_lists_the_rules_of_an_item_or_of_a_pair_best_first(
    env: dict[str, str],
) -> None:
    bread = await cartlift(env, "rules", "show", "bread")
    assert bread.exit_code == 0 and "apple" in bread.stdout and "2.80" in bread.stdout
    pair = await cartlift(env, "rules", "show", "cheese|apple")
    assert pair.exit_code == 0 and "bread" in pair.stdout and "inf" in pair.stdout
    nothing = await cartlift(env, "rules", "show", "dates")
    assert nothing.exit_code == 1 and "no rules fire for 'dates'" in nothing.stderr
