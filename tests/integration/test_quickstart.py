"""The README's quick start, step by step, through the real `cartlift` command and server."""

from __future__ import annotations

import httpx
import pytest

from tests.processes import CliShop, cli_shop, served

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> CliShop:
    return cli_shop(tmp_path_factory.getbasetemp())


def test_migrate_demo_and_rebuild_publish_a_first_rule_version(shop: CliShop) -> None:
    summary = shop.rebuild_summary
    assert summary["code"] == 0 and summary["version"] == 1, summary
    assert isinstance(summary["rules"], int) and summary["rules"] > 100
    assert (shop.root / "var" / "cartlift.db").is_file()


def test_the_served_demo_shop_is_ready_and_recommends(shop: CliShop) -> None:
    with served(env=shop.env, cwd=shop.root) as server:
        ready = httpx.get(server.base_url + "/readyz")
        answer = httpx.post(
            server.base_url + "/recommend", json={"cart": [{"sku": "roses-red-12"}], "limit": 3}
        )
    assert ready.status_code == 200 and ready.json()["version"] == 1
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_version"] == 1 and len(body["items"]) == 3
    assert "roses-red-12" not in {item["sku"] for item in body["items"]}
    assert any(item["sku"].startswith("choc-") for item in body["items"]), body
