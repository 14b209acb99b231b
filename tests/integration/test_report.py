"""`cartlift report` on Postgres and SQLite: one HTML file with the heatmap and the figures."""

from __future__ import annotations

import base64
import io
import re
from datetime import date, timedelta
from pathlib import Path

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from app.importing.catalog import import_products
from app.importing.orders import import_orders
from app.report.html import TIMES
from tests.integration.test_campaign import run_cli

START = date(2026, 1, 5)
PRODUCTS = """sku,name,category,price,cost,in_stock
a,Alpha,one,10.00,5.00,true
b,Bravo,one,20.00,10.00,true
c,Charlie,two,30.00,15.00,true
d,Delta,two,5.00,2.00,true
"""
# (order, customer, day, sku, quantity, unit price); the guest's d has no price: 3 x 5.00.
LINES = [
    ("o1", "c-1", 0, "a", 1, "10"),
    ("o1", "c-1", 0, "b", 1, "20"),
    ("o2", "c-1", 10, "c", 1, "30"),
    ("o3", "c-2", 0, "a", 1, "10"),
    ("o4", "c-2", 30, "a", 1, "10"),
    ("o4", "c-2", 30, "d", 1, "5"),
    ("o5", "c-3", 5, "b", 1, "20"),
    ("o5", "c-3", 5, "c", 1, "30"),
    ("o6", "c-4", 1, "a", 1, "10"),
    ("o6", "c-4", 1, "b", 1, "20"),
    ("o6", "c-4", 1, "c", 1, "30"),
    ("o7", "", 2, "d", 3, ""),
]


async def import_shop(engine: AsyncEngine, folder: Path) -> None:
    (folder / "products.csv").write_text(PRODUCTS)
    rows = [
        f"{o},{c},{START + timedelta(days=n)}T10:00:00Z,{sku},{q},{p}\n"
        for o, c, n, sku, q, p in LINES
    ]
    header = "order_id,customer_id,ordered_at,sku,quantity,unit_price\n"
    (folder / "orders.csv").write_text(header + "".join(rows))
    await import_products(engine, str(folder / "products.csv"))
    await import_orders(engine, str(folder / "orders.csv"))


def text_of(html: str) -> str:
    """The page's visible text, one space between elements."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_report_embeds_the_heatmap_and_the_hand_computed_figures(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await import_shop(engine, tmp_path)
    output = tmp_path / "out" / "report.html"
    result = await run_cli(
        database_url,
        tmp_path,
        "report",
        "--output",
        str(output),
        "--min-count",
        "1",
        "--min-buyers",
        "2",
    )
    assert result.exit_code == 0, result.output
    html = output.read_text()
    [encoded] = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
        assert image.format == "PNG" and image.width > 300
    assert "http://" not in html and "https://" not in html  # nothing to fetch: self-contained
    page = text_of(html)
    for figure in (
        "Customers 4 ",
        "Orders 7 210.00 € revenue",
        "Average ticket 30.00 €",
        "Between orders 20 days",
        "Came back 50.0 %",  # customers 1 and 2 ordered twice
        "1 Alpha a 75.0 % 3 10.00 €",  # a, b and c are held by 3 of 4 customers each
        "25.0 % of customers hold exactly 2 of them",
        "50.0 % of customers hold all 3 of them",
        "Alpha 100.0 % 66.7 % 66.7 %",
        "Bravo 66.7 % 100.0 % 100.0 %",  # the matrix rows
        "Alpha + Charlie → Bravo 2.33 100.0 % 14.29 % 1",  # top rule by lift: 1 / (3/7)
        "Bravo + Charlie 1.56 2 50.00 €",  # bundle: 2/7 / (3/7 x 3/7) = 14/9
        "Alpha + Bravo + Charlie 1.36 1 60.00 €",  # 1/7 / (4/7 x 3/7 x 3/7) = 49/36
        # Hooks: holders of b (customers 1, 3, 4) spent 170 over 4 orders; of a 145 over 5.
        f"Bravo 42.50 € 1.42{TIMES} 3 Charlie 42.50 € 1.42{TIMES} 3 Alpha 29.00 € 0.97{TIMES} 3",
    ):
        assert figure in page, figure
    assert "Orders from 05 Jan 2026 to 04 Feb 2026" in page


async def test_the_matrix_size_follows_top(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await import_shop(engine, tmp_path)
    output = tmp_path / "report.html"
    result = await run_cli(database_url, tmp_path, "report", "--output", str(output), "--top", "4")
    assert result.exit_code == 0, result.output
    page = text_of(output.read_text())
    assert "How the top 4 products combine Alpha, Bravo, Charlie and Delta" in page
    # Customers 2 and 3 hold exactly 2 of the four, customers 1 and 4 exactly 3.
    assert "100.0 % of customers hold at least 2 of them" in page
    assert "0.0 % of customers hold all 4 of them" in page


async def test_an_empty_shop_is_an_error_not_an_empty_report(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    result = await run_cli(database_url, tmp_path, "report", "--output", str(tmp_path / "r.html"))
    assert result.exit_code == 1
    assert "no orders to report on" in result.stderr
    assert not (tmp_path / "r.html").exists()
