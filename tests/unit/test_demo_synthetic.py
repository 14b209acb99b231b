"""Synthetic benchmark files: valid orders CSV, reproducible, matching their products file."""

from __future__ import annotations

import csv
import gzip
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from app.demo import synthetic
from app.demo.synthetic import write_synthetic_orders, write_synthetic_products

START = date(2025, 1, 1)
N_ORDERS = 3_000
N_SKUS = 500


def write_orders(path: Path, *, seed: int = 1) -> int:
    return write_synthetic_orders(path, n_orders=N_ORDERS, n_skus=N_SKUS, seed=seed, start=START)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def orders_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synthetic") / "orders.csv"
    write_orders(path)
    return path


def test_same_seed_writes_identical_bytes(tmp_path: Path, orders_csv: Path) -> None:
    write_orders(tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == orders_csv.read_bytes()
    write_orders(tmp_path / "other.csv", seed=2)
    assert (tmp_path / "other.csv").read_bytes() != orders_csv.read_bytes()


def test_gzip_output_holds_the_plain_bytes(tmp_path: Path, orders_csv: Path) -> None:
    write_orders(tmp_path / "a.csv.gz")
    write_orders(tmp_path / "b.csv.gz")
    packed = (tmp_path / "a.csv.gz").read_bytes()
    assert packed == (tmp_path / "b.csv.gz").read_bytes()
    assert gzip.decompress(packed) == orders_csv.read_bytes()


def test_orders_have_one_to_eight_distinct_skus(tmp_path: Path, orders_csv: Path) -> None:
    rows = read_rows(orders_csv)
    assert write_orders(tmp_path / "count.csv") == len(rows)
    skus: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        skus[row["order_id"]].append(row["sku"])
    assert sorted(map(int, skus)) == list(range(1, N_ORDERS + 1))
    assert all(1 <= len(items) == len(set(items)) <= 8 for items in skus.values())


def test_order_ids_follow_time_and_customers_repeat(orders_csv: Path) -> None:
    rows = read_rows(orders_csv)
    stamps = [(int(row["order_id"]), datetime.fromisoformat(row["ordered_at"])) for row in rows]
    assert [at for _, at in sorted(stamps)] == sorted(at for _, at in stamps)
    assert all(at.utcoffset() is not None for _, at in stamps)
    customers = {int(row["customer_id"]) for row in rows}
    assert max(customers) <= N_ORDERS // 5


def test_popularity_is_skewed(orders_csv: Path) -> None:
    counts = Counter(row["sku"] for row in read_rows(orders_csv))
    ranked = [count for _, count in counts.most_common()]
    assert ranked[0] > 10 * ranked[len(ranked) // 2]


def test_orders_match_the_products_file(tmp_path: Path, orders_csv: Path) -> None:
    assert write_synthetic_products(tmp_path / "products.csv", N_SKUS, 1) == N_SKUS
    products = read_rows(tmp_path / "products.csv")
    assert list(products[0]) == ["sku", "name", "category", "price", "cost", "in_stock"]
    price = {row["sku"]: row["price"] for row in products}
    assert len(price) == N_SKUS and "sku-000123" in price
    for row in read_rows(orders_csv):
        assert row["unit_price"] == price[row["sku"]]
        assert int(row["quantity"]) >= 1


def test_chunks_join_into_one_continuous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(synthetic, "CHUNK_ORDERS", 7)
    path = tmp_path / "chunked.csv"
    lines = write_synthetic_orders(path, n_orders=50, n_skus=20, seed=3, start=START, days=2)
    rows = read_rows(path)
    assert len(rows) == lines
    assert sorted({int(row["order_id"]) for row in rows}) == list(range(1, 51))


def test_bad_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_skus"):
        write_synthetic_orders(tmp_path / "x.csv", n_orders=1, n_skus=0, seed=1, start=START)
