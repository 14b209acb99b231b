"""The demo shop files: formats the importer relies on and patterns the miner should find."""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from app.demo.shop import DemoFiles, write_demo_shop

START = date(2025, 11, 1)
N_CUSTOMERS = 400
N_ORDERS = 2_000
FILES = ("products", "upgrades", "orders", "plans", "subscriptions", "usage")

Row = dict[str, str]


def small_shop(out_dir: Path, *, seed: int = 7, compress: bool = False) -> DemoFiles:
    return write_demo_shop(
        out_dir,
        seed=seed,
        n_customers=N_CUSTOMERS,
        n_orders=N_ORDERS,
        start=START,
        compress=compress,
    )


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return small_shop(tmp_path_factory.mktemp("shop"))


def read_rows(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def header(path: Path) -> str:
    return path.read_text(encoding="utf-8").split("\n", 1)[0]


def baskets(shop: DemoFiles) -> dict[str, set[str]]:
    by_order: dict[str, set[str]] = defaultdict(set)
    for row in read_rows(shop.orders):
        by_order[row["order_id"]].add(row["sku"])
    return by_order


def test_same_seed_writes_identical_bytes(tmp_path: Path) -> None:
    first, second = small_shop(tmp_path / "a"), small_shop(tmp_path / "b")
    for name in FILES:
        assert getattr(first, name).read_bytes() == getattr(second, name).read_bytes(), name


def test_other_seed_writes_other_orders(tmp_path: Path, shop: DemoFiles) -> None:
    other = small_shop(tmp_path, seed=8)
    assert other.orders.read_bytes() != shop.orders.read_bytes()


def test_gzip_files_hold_the_plain_bytes_reproducibly(tmp_path: Path, shop: DemoFiles) -> None:
    first = small_shop(tmp_path / "a", compress=True)
    second = small_shop(tmp_path / "b", compress=True)
    assert first.orders.name == "orders.csv.gz"
    for name in FILES:
        packed = getattr(first, name).read_bytes()
        assert packed == getattr(second, name).read_bytes(), name
        assert gzip.decompress(packed) == getattr(shop, name).read_bytes(), name


def test_headers_match_the_design(shop: DemoFiles) -> None:
    assert header(shop.orders) == "order_id,customer_id,ordered_at,sku,quantity,unit_price"
    assert header(shop.products) == "sku,name,category,price,cost,in_stock"
    assert header(shop.upgrades) == "from_sku,to_sku"
    assert header(shop.plans) == (
        "plan_id,name,tier,monthly_price,currency,storage_gb,seats,active"
    )
    assert header(shop.subscriptions) == "customer_id,plan_id,started_at,ended_at"
    assert header(shop.usage) == "customer_id,resource,value,at"


def test_counts_are_as_requested(shop: DemoFiles) -> None:
    orders = baskets(shop)
    customers = {row["customer_id"] for row in read_rows(shop.orders)}
    assert shop.n_orders == len(orders) == N_ORDERS
    assert shop.n_customers == len(customers) == N_CUSTOMERS
    assert shop.n_order_lines == len(read_rows(shop.orders))
    assert all(1 <= len(skus) <= 5 for skus in orders.values())
    assert 40 <= shop.n_products <= 60


def test_customers_come_back(shop: DemoFiles) -> None:
    orders_per_customer: dict[str, set[str]] = defaultdict(set)
    for row in read_rows(shop.orders):
        orders_per_customer[row["customer_id"]].add(row["order_id"])
    repeat = sum(len(orders) > 1 for orders in orders_per_customer.values())
    assert repeat / len(orders_per_customer) > 0.5


def test_ordered_at_is_utc_iso_8601_within_one_year(shop: DemoFiles) -> None:
    first = datetime(START.year, START.month, START.day, tzinfo=UTC)
    for row in read_rows(shop.orders):
        ordered_at = datetime.fromisoformat(row["ordered_at"])
        assert ordered_at.utcoffset() == timedelta(0)
        assert first <= ordered_at < first + timedelta(days=365)


def test_lines_have_positive_quantity_and_list_or_discounted_price(shop: DemoFiles) -> None:
    price = {row["sku"]: float(row["price"]) for row in read_rows(shop.products)}
    lines = read_rows(shop.orders)
    assert all(int(row["quantity"]) >= 1 for row in lines)
    assert all(0 < float(row["unit_price"]) <= price[row["sku"]] for row in lines)
    at_list_price = sum(float(row["unit_price"]) == price[row["sku"]] for row in lines)
    assert 0.85 < at_list_price / len(lines) < 1.0


def test_roses_orders_often_include_chocolates(shop: DemoFiles) -> None:
    category = {row["sku"]: row["category"] for row in read_rows(shop.products)}
    orders = [{category[sku] for sku in skus} for skus in baskets(shop).values()]
    with_roses = [cats for cats in orders if "roses" in cats]
    confidence = sum("chocolates" in cats for cats in with_roses) / len(with_roses)
    base_rate = sum("chocolates" in cats for cats in orders) / len(orders)
    assert confidence >= 0.3
    assert confidence >= 1.5 * base_rate


def test_console_orders_often_include_a_controller(shop: DemoFiles) -> None:
    with_console = [skus for skus in baskets(shop).values() if "game-console" in skus]
    share = sum("console-controller" in skus for skus in with_console) / len(with_console)
    assert share >= 0.4


def test_tv_buyers_come_back_for_a_wall_mount(shop: DemoFiles) -> None:
    bought: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for row in read_rows(shop.orders):
        key = (row["customer_id"], row["sku"])
        bought[key].append(datetime.fromisoformat(row["ordered_at"]))
    tv_skus = {"tv-27", "tv-32", "tv-43"}
    tvs = [(c, at) for (c, sku), ats in bought.items() if sku in tv_skus for at in ats]
    came_back = sum(
        any(
            timedelta(days=5) <= mount - at <= timedelta(days=21)
            for mount in bought.get((customer, "tv-wall-mount"), [])
        )
        for customer, at in tvs
    )
    assert came_back / len(tvs) >= 0.2


def test_every_order_sku_is_in_the_catalog(shop: DemoFiles) -> None:
    catalog = {row["sku"] for row in read_rows(shop.products)}
    assert {row["sku"] for row in read_rows(shop.orders)} <= catalog


def test_catalog_has_one_sold_out_product_with_prices_above_cost(shop: DemoFiles) -> None:
    products = read_rows(shop.products)
    assert {row["in_stock"] for row in products} == {"true", "false"}
    assert sum(row["in_stock"] == "false" for row in products) == 1
    assert all(float(row["price"]) > float(row["cost"]) > 0 for row in products)
    assert len({row["sku"] for row in products}) == len(products)


def test_upgrade_paths_lead_to_a_pricier_existing_product(shop: DemoFiles) -> None:
    price = {row["sku"]: float(row["price"]) for row in read_rows(shop.products)}
    upgrades = read_rows(shop.upgrades)
    assert ("tv-27", "tv-32") in {(row["from_sku"], row["to_sku"]) for row in upgrades}
    for row in upgrades:
        assert price[row["to_sku"]] > price[row["from_sku"]], row


def test_plan_tiers_are_unique_and_prices_increase(shop: DemoFiles) -> None:
    plans = sorted(read_rows(shop.plans), key=lambda row: int(row["tier"]))
    assert len({row["tier"] for row in plans}) == len(plans)
    prices = [float(row["monthly_price"]) for row in plans]
    assert prices == sorted(prices) and len(set(prices)) == len(prices)
    assert {row["active"] for row in plans} == {"true", "false"}
    assert {row["currency"] for row in plans} == {"EUR"}


def test_subscriptions_chain_existing_plans(shop: DemoFiles) -> None:
    plan_ids = {row["plan_id"] for row in read_rows(shop.plans)}
    history: dict[str, list[Row]] = defaultdict(list)
    for row in read_rows(shop.subscriptions):
        assert row["plan_id"] in plan_ids
        assert 1 <= int(row["customer_id"]) <= N_CUSTOMERS
        history[row["customer_id"]].append(row)
    for periods in history.values():
        for earlier, later in pairwise(periods):
            assert earlier["ended_at"] == later["started_at"]
        assert sum(row["ended_at"] == "" for row in periods) <= 1
    assert 0.2 < len(history) / N_CUSTOMERS < 0.4


def test_basic_subscribers_upgrade_to_plus_most_often(shop: DemoFiles) -> None:
    rows = read_rows(shop.subscriptions)
    moves = [
        later["plan_id"]
        for earlier, later in pairwise(rows)
        if earlier["customer_id"] == later["customer_id"] and earlier["plan_id"] == "basic-100gb"
    ]
    assert moves.count("plus-2tb") > moves.count("family-2tb") > 0


def test_usage_has_the_readme_example(shop: DemoFiles) -> None:
    current = {
        row["customer_id"]: row["plan_id"]
        for row in read_rows(shop.subscriptions)
        if row["ended_at"] == ""
    }
    samples = read_rows(shop.usage)
    assert all(row["customer_id"] in current for row in samples)
    assert any(
        current[row["customer_id"]] == "basic-100gb" and row["value"] == "96.0" for row in samples
    )


def test_too_few_customers_or_orders_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        write_demo_shop(tmp_path, n_customers=0, n_orders=10)
