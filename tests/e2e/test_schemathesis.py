"""Property-based calls generated from the committed openapi.yaml against the app with rules.

Every documented operation gets bounded examples (valid and invalid); no answer may be a
server error, and every answer must match the status codes, content types, headers and
schemas the document declares.

`make fuzz` runs this module with CARTLIFT_FUZZ_EXAMPLES set: that many examples per
operation, every check on every operation, against a real `cartlift serve` process, and a
last test that counts what the server saw (>= 10,000 requests, every route, no 5xx).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from prometheus_client.parser import text_string_to_metric_families
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.demo.shop import DemoFiles
from app.main import create_app
from tests.conftest import REDIS_URL, settings_for
from tests.e2e.test_recommend import Shop, demo_shop
from tests.processes import clean_env, served

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.yaml"
FUZZ_EXAMPLES = int(os.environ.get("CARTLIFT_FUZZ_EXAMPLES", "0") or 0)
EXAMPLES_PER_OPERATION = FUZZ_EXAMPLES or 50
FUZZ_REQUESTS = 10_000  # what `make fuzz` must have sent, at least
ADMIN_KEY = "admin-secret-0123456789"
METHODS = {"get", "put", "post", "patch", "delete"}
# The quotas a usage report may name are those of the published plans, which no schema can
# list: a schema-valid report naming another quota is refused with 422, by design.
CATALOG_BOUND = {"/upgrade-offers"}
EVERY_SCOPE = f"recommend+customer+events+admin+metrics:{ADMIN_KEY}"


@pytest.fixture(scope="module")
async def shop(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Shop]:
    async with demo_shop(postgres_url, demo_files) as published:
        yield published


@pytest.fixture(scope="module")
def target(shop: Shop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Where cases are sent: the app in process, or (`make fuzz`) a real server."""
    directory = tmp_path_factory.mktemp("schemathesis")
    if FUZZ_EXAMPLES:
        env = clean_env(
            CARTLIFT_DATABASE_URL=shop.database_url,
            CARTLIFT_REDIS_URL=REDIS_URL,
            CARTLIFT_API_KEYS=EVERY_SCOPE,
            CARTLIFT_SNAPSHOT_DIR=str(directory / "rules"),
            # What is fuzzed is input handling: a store call slowed by a busy host past the
            # default deadline would answer a documented 503, counted as a server error.
            CARTLIFT_STORE_TIMEOUT_MS="2000",
        )
        with served(env=env, cwd=directory) as server:
            yield {"base_url": server.base_url}
        return
    config = settings_for(
        shop.database_url, REDIS_URL, directory, api_keys=[EVERY_SCOPE], log_level="WARNING"
    )
    yield {"app": create_app(config)}  # schemathesis runs its lifespan in its own loop
    asgi.shutdown_lifespans()


def _schema() -> Any:
    loaded = schemathesis.openapi.from_path(OPENAPI)
    loaded.config.generation.update(max_examples=EXAMPLES_PER_OPERATION)
    # A body over the byte limit is refused with the documented 413, valid or not: a schema
    # cannot bound bytes (128 escaped characters per SKU are 768 bytes).
    for check in (
        loaded.config.checks.negative_data_rejection,
        loaded.config.checks.positive_data_acceptance,
    ):
        check.expected_statuses = [*check.expected_statuses, "413"]
    return loaded


# Checked in full: the operations this suite's routers serve. The others are held to "no
# server error" here; their conformance is their own suites' business.
OWN = r"^/(recommend|admin/merchandising|healthz|readyz|metrics)$"
schema = _schema()
own = schema.include(path_regex=OWN)
others = schema.exclude(path_regex=OWN)
SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@own.parametrize()  # type: ignore[untyped-decorator]
@SETTINGS
def test_every_operation_answers_as_documented(case: Any, target: dict[str, Any]) -> None:
    # With a key of every scope, so merchandising writes really happen; the check that the
    # key is enforced resends without it, to the app the schema names.
    case.operation.schema.app = target.get("app")
    case.call_and_validate(headers={"X-API-Key": ADMIN_KEY}, **target)


@others.parametrize()  # type: ignore[untyped-decorator]
@SETTINGS
def test_no_operation_answers_with_a_server_error(case: Any, target: dict[str, Any]) -> None:
    checks = None if FUZZ_EXAMPLES else [not_a_server_error]  # the fuzz run checks everything
    excluded = [positive_data_acceptance] if case.operation.path in CATALOG_BOUND else None
    case.call_and_validate(
        headers={"X-API-Key": ADMIN_KEY}, checks=checks, excluded_checks=excluded, **target
    )


@pytest.mark.skipif(not FUZZ_EXAMPLES, reason="the fuzz run's totals (make fuzz)")
def test_the_fuzz_run_reached_every_route_with_no_server_error(target: dict[str, Any]) -> None:
    scrape = httpx.get(f"{target['base_url']}/metrics", headers={"X-API-Key": ADMIN_KEY})
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(scrape.text):
        for sample in family.samples:
            if sample.name == "cartlift_http_requests_total":
                route = f"{sample.labels['method']} {sample.labels['route']}"
                key = (route, sample.labels["status"][0] + "xx")
                counts[key] = counts.get(key, 0) + sample.value
    for (route, status), count in sorted(counts.items()):
        print(f"fuzz: {route} {status} {count:.0f}")
    total = sum(counts.values())
    # Refused before routing (the checks' resends without a key, unknown paths): unmatched.
    routed = sum(count for (route, _), count in counts.items() if not route.endswith("unmatched"))
    errors = sum(count for (_, status), count in counts.items() if status == "5xx")
    print(f"fuzz: {total:.0f} requests, {routed:.0f} reached a route, {errors:.0f} server errors")
    assert errors == 0
    assert routed >= FUZZ_REQUESTS
    paths = yaml.safe_load(OPENAPI.read_text())["paths"]
    documented = {f"{m.upper()} {p}" for p, item in paths.items() for m in item if m in METHODS}
    assert documented <= {route for route, _ in counts}, "a documented route was never called"
