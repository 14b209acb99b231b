"""Property-based calls generated from the committed openapi.yaml against the app with rules.

Every documented operation gets bounded examples (valid and invalid); no answer may be a
server error, and every answer must match the status codes, content types, headers and
schemas the document declares.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi

from app.demo.shop import DemoFiles
from app.main import create_app
from tests.conftest import REDIS_URL, settings_for
from tests.e2e.test_recommend import Shop, demo_shop

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.yaml"
EXAMPLES_PER_OPERATION = 50
ADMIN_KEY = "admin-secret-0123456789"


@pytest.fixture(scope="module")
async def shop(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Shop]:
    async with demo_shop(postgres_url, demo_files) as published:
        yield published


@pytest.fixture(scope="module")
def app(shop: Shop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app serving the demo rules; schemathesis runs its lifespan in its own loop."""
    config = settings_for(
        shop.database_url,
        REDIS_URL,
        tmp_path_factory.mktemp("schemathesis"),
        api_keys=[f"recommend+customer+events+admin+metrics:{ADMIN_KEY}"],
        log_level="WARNING",
    )
    yield create_app(config)
    asgi.shutdown_lifespans()


def _schema() -> Any:
    loaded = schemathesis.openapi.from_path(OPENAPI)
    loaded.config.generation.update(max_examples=EXAMPLES_PER_OPERATION)
    # A body over the byte limit is refused with the documented 413, valid or not: a schema
    # cannot bound bytes (128 escaped characters per SKU are 768 bytes).
    for check in (loaded.config.checks.negative_data_rejection,
                  loaded.config.checks.positive_data_acceptance):  # fmt: skip
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
def test_every_operation_answers_as_documented(case: Any, app: Any) -> None:
    # With a key of every scope, so merchandising writes really happen; the check that the
    # key is enforced resends without it, to the app the schema names.
    case.operation.schema.app = app
    case.call_and_validate(app=app, headers={"X-API-Key": ADMIN_KEY})


@others.parametrize()  # type: ignore[untyped-decorator]
@SETTINGS
def test_no_operation_answers_with_a_server_error(case: Any, app: Any) -> None:
    case.call_and_validate(app=app, headers={"X-API-Key": ADMIN_KEY}, checks=[not_a_server_error])
