"""Campaign exports and the history they read, on Postgres and SQLite, through the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner, Result

from app.cli.main import app
from app.importing.catalog import import_products
from app.importing.orders import import_orders
from app.jobs.rebuild import ExitCode, RebuildOptions, rebuild
from app.jobs.sources import read_history
from app.published import keys
from app.published.sequences import decode_customer, decode_sequence
from app.store.base import RuleStore

START = date(2026, 1, 5)
PRODUCTS = """sku,name,category,price,cost,in_stock
v,Vase,home,60.00,30.00,true
w,Wreath,home,15.00,5.00,true
x,Xmas tree,home,25.00,10.00,true
y,Yarn,home,40.00,20.00,true
z,Zinnias,flowers,10.00,4.00,true
gone,Gone,home,10.00,4.00,false
"""
# Nine customers, one order each (items, total): c1 x y 100 | c2 x y 100 | c3 x y z 100 |
# c4 x 10 | c5 z 10 | c6 w v 100 | c7 w v 100 | c8 w 20 | c9 v 100. Portfolio: 640 / 9.
HOLDERS = [
    ("c1", "xy", 100),
    ("c2", "xy", 100),
    ("c3", "xyz", 100),
    ("c4", "x", 10),
    ("c5", "z", 10),
    ("c6", "wv", 100),
    ("c7", "wv", 100),
    ("c8", "w", 20),
    ("c9", "v", 100),
]
# Follow-ups: six customers buy y 10 to 15 days after x (median 12.5 days); t7 bought x on
# day 100 and nothing since; t8 and t9 (two orders of z) keep y's base rate at 6 of 8.
FOLLOW_UPS = [
    *((f"t{k}", n, sku) for k in range(1, 7) for n, sku in ((0, "x"), (9 + k, "y"))),
    ("t7", 100, "x"),
    *((f"t{k}", n, "z") for k in (8, 9) for n in (0, 40)),
]


def day(n: int) -> str:
    return f"{START + timedelta(days=n)}T10:00:00Z"


def write_shop(folder: Path, orders: list[str]) -> tuple[Path, Path]:
    products, lines = folder / "products.csv", folder / "orders.csv"
    products.write_text(PRODUCTS)
    lines.write_text("order_id,customer_id,ordered_at,sku,quantity,unit_price\n" + "".join(orders))
    return products, lines


def holders_orders() -> list[str]:
    return [
        f"{who},{who},{day(0)},{sku},1,{total / len(items):.2f}\n"
        for who, items, total in HOLDERS
        for sku in items
    ]


async def import_shop(engine: AsyncEngine, folder: Path, orders: list[str]) -> None:
    products, lines = write_shop(folder, orders)
    await import_products(engine, str(products))
    await import_orders(engine, str(lines))


def cartlift(database_url: str, tmp_path: Path, *args: str) -> Result:
    env = {"CARTLIFT_DATABASE_URL": database_url, "CARTLIFT_SNAPSHOT_DIR": str(tmp_path / "rules")}
    return CliRunner().invoke(app, list(args), env=env)


async def run_cli(database_url: str, tmp_path: Path, *args: str) -> Result:
    # The CLI runs its own event loop, so it gets a thread of its own.
    return await asyncio.to_thread(cartlift, database_url, tmp_path, *args)


async def test_history_reads_customers_times_and_amounts(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    orders = [
        f"o1,alice,{day(0)},x,2,12.50\n",
        f"o1,alice,{day(0)},y,1,\n",
        f"o2,,{day(3)},z,3,\n",
        f"o3,alice,{day(7)},x,1,25.00\n",
    ]
    await import_shop(engine, tmp_path, orders)
    history = await read_history(engine)
    by_time = sorted(range(history.n_orders), key=lambda k: int(history.order_at[k]))
    totals = history.order_totals()
    # y and z have no unit price: valued at their list price (40 and 10).
    assert [totals[k] for k in by_time] == [65.0, 30.0, 25.0]
    assert [history.name_of(int(history.order_customer[k])) for k in by_time[::2]] == ["alice"] * 2
    assert int(history.order_customer[by_time[1]]) == -1  # the guest order
    assert (history.order_days()[by_time[2]] - history.order_days()[by_time[0]]) == 7
    assert sorted(history.skus) == ["x", "y", "z"]


async def test_the_rebuild_publishes_sequences_and_customer_purchases(
    engine: AsyncEngine, store: RuleStore, tmp_path: Path
) -> None:
    orders = [f"{who}-{n},{who},{day(n)},{sku},1,10\n" for who, n, sku in FOLLOW_UPS]
    orders += holders_orders()  # rules for the guard, so the version gets published
    await import_shop(engine, tmp_path, orders)
    result = await rebuild(engine, store, RebuildOptions(min_count=1, force=True))
    assert result.code is ExitCode.PUBLISHED, result.message
    assert result.version is not None
    raw_x, raw_t7 = await store.fetch(
        result.version, [keys.sequence_rules("x"), keys.customer_purchases("t7")]
    )
    assert raw_x is not None and raw_t7 is not None
    [follow_up] = decode_sequence(raw_x).follow_ups
    assert (follow_up.sku, follow_up.count, follow_up.confidence) == ("y", 6, 1.0)
    assert (follow_up.lift, follow_up.median_days) == (round(8 / 6, 5), 12.5)
    t7 = decode_customer(raw_t7)
    assert [(p.sku, p.on) for p in t7.purchases] == [("x", START + timedelta(days=100))]
    assert t7.sequences["x"].follow_ups == (follow_up,)


async def test_reactivation_lists_below_average_customers_by_expected_value(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await import_shop(engine, tmp_path, holders_orders())
    result = await run_cli(database_url, tmp_path, "campaign", "reactivation", "--min-count", "1")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    # w -> v: propensity 2/3 - 3/9 = 1/3, x 60 = 20.00; x -> y: 3/4 - 3/9 = 5/12, x 40 = 16.67;
    # z -> y: 1/2 - 3/9 = 1/6, x 40 = 6.67.
    assert [
        (r["customer_id"], r["antecedent_sku"], r["offer_sku"], r["expected_value"]) for r in rows
    ] == [
        ("c8", "w", "v", "20.0"),
        ("c4", "x", "y", "16.67"),
        ("c5", "z", "y", "6.67"),
    ]
    assert rows[0]["message"] == "67 % of customers who hold w also hold v"
    assert rows[0]["gap_to_average"] == str(round(640 / 9 - 20, 2))


async def test_reactivation_writes_json_lines_to_a_file_with_a_configurable_threshold(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await import_shop(engine, tmp_path, holders_orders())
    target = tmp_path / "targets.jsonl"
    result = await run_cli(
        database_url,
        tmp_path,
        "campaign",
        "reactivation",
        "--min-count",
        "1",
        "--below",
        "0.2",
        "--format",
        "jsonl",
        "--output",
        str(target),
    )
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in target.read_text().splitlines()]
    assert [r["customer_id"] for r in rows] == ["c4", "c5"]  # c8's 20 is above 0.2 x 71.11
    assert rows[0]["confidence"] == 0.75 and rows[0]["lift"] == 2.25


async def test_next_sale_lists_the_mailings_due_on_a_day(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    orders = [f"{who}-{n},{who},{day(n)},{sku},1,10\n" for who, n, sku in FOLLOW_UPS]
    await import_shop(engine, tmp_path, orders)
    due = (START + timedelta(days=113)).isoformat()  # day 100 + median 12.5, rounded up
    args = ("campaign", "next-sale", "--on", due)
    result = await run_cli(database_url, tmp_path, *args)
    assert result.exit_code == 0, result.output
    [row] = list(csv.DictReader(io.StringIO(result.stdout)))
    assert (row["customer_id"], row["sku"], row["send_on"], row["kind"]) == (
        "t7",
        "y",
        due,
        "next_sale",
    )
    assert row["reason"] == (
        "bought x on 2026-04-15; 100 % of its buyers buy y next, typically 13 days later"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("campaign", "next-sale", "--on", "tomorrow"), "--on must be a date"),
        (("campaign", "reactivation", "--format", "xml"), "--format must be one of csv, jsonl"),
        (("campaign", "reactivation", "--min-lift", "much"), "min_lift must be"),
    ],
)
def test_bad_options_exit_2_with_a_message(
    sqlite_url: str, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = cartlift(sqlite_url, tmp_path, *args)
    assert result.exit_code == 2
    assert message in result.stderr
