"""Load your own cartlift deployment with checkout-like traffic (locust scenarios).

    uv run locust -f loadtests/locustfile.py --host https://cartlift.internal:8000 \\
        --users 50 --spawn-rate 10 --run-time 5m --headless

Carts come from real baskets when you point CARTLIFT_LOAD_ORDERS at an orders CSV in the
import format (`order_id,customer_id,ordered_at,sku,quantity,unit_price`; the file
`cartlift demo` writes works too); otherwise from the demo catalog with the basket sizes a
shop sees (mostly 1-2 items, at most 5). Other settings, all optional:

    CARTLIFT_LOAD_API_KEY         sent as X-API-Key when your deployment requires one
    CARTLIFT_LOAD_UPGRADE_OFFERS  1 to add POST /upgrade-offers calls (mobile app traffic)
    CARTLIFT_LOAD_THINK_SECONDS   pause between a user's calls, default 0.5-2

For latency figures on one machine use wrk (`make bench-api`): a Python load generator
saturates a core before the server does.
"""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, task

from app.demo.catalog import PLANS, PRODUCTS

BASKET_SIZES = (1, 2, 3, 4, 5)
BASKET_WEIGHTS = (0.40, 0.30, 0.15, 0.10, 0.05)
RANK_BY = ("confidence", "confidence", "confidence", "lift", "expected_revenue")


def real_baskets(path: Path, limit: int = 20_000) -> list[list[str]]:
    """Distinct SKUs per order, for orders of 1-5 items."""
    baskets: dict[str, list[str]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            skus = baskets.setdefault(row["order_id"], [])
            if row["sku"] not in skus:
                skus.append(row["sku"])
            if len(baskets) > limit:
                break
    return [skus for skus in baskets.values() if 1 <= len(skus) <= 5]


def synthetic_basket(rng: random.Random) -> list[str]:
    size = rng.choices(BASKET_SIZES, BASKET_WEIGHTS)[0]
    return rng.sample([p.sku for p in PRODUCTS if p.in_stock], size)


ORDERS = os.environ.get("CARTLIFT_LOAD_ORDERS")
BASKETS = real_baskets(Path(ORDERS)) if ORDERS else []
API_KEY = os.environ.get("CARTLIFT_LOAD_API_KEY")
THINK = float(os.environ.get("CARTLIFT_LOAD_THINK_SECONDS", "0") or 0)


class Shopper(FastHttpUser):
    """A checkout page: asks for add-ons on every cart view, now and then with filters."""

    wait_time = between(THINK, THINK * 2) if THINK else between(0.5, 2)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.headers = {"X-API-Key": API_KEY} if API_KEY else {}

    def cart(self) -> list[str]:
        return self.rng.choice(BASKETS) if BASKETS else synthetic_basket(self.rng)

    @task(10)
    def view_cart(self) -> None:
        body: dict[str, Any] = {
            "cart": [{"sku": sku, "quantity": self.rng.randint(1, 2)} for sku in self.cart()],
            "limit": self.rng.choice((3, 3, 4, 6)),
            "rank_by": self.rng.choice(RANK_BY),
        }
        if self.rng.random() < 0.2:
            body["max_price"] = self.rng.choice((10.0, 25.0, 50.0))
        self.client.post("/recommend", json=body, headers=self.headers, name="/recommend")

    @task(1)
    def empty_cart(self) -> None:
        self.client.post("/recommend", json={"cart": []}, headers=self.headers, name="/recommend")

    @task(1 if os.environ.get("CARTLIFT_LOAD_UPGRADE_OFFERS") == "1" else 0)
    def upgrade_offers(self) -> None:
        plan = self.rng.choice([p for p in PLANS if p.active and p.storage_gb < 5000])
        used = round(plan.storage_gb * self.rng.uniform(0.5, 1.0), 1)
        body = {
            "customer_id": f"load-{self.rng.randint(1, 100_000)}",
            "plan": plan.plan_id,
            "usage": {"storage_gb": used},
        }
        self.client.post("/upgrade-offers", json=body, headers=self.headers, name="/upgrade-offers")
