"""The plans entry round-trips, and each loaded version's plans are decoded once."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from app.offers import ConversionRate, Plan, PlanCatalog
from app.published import keys
from app.published.plans import decode_plans, encode_plans
from app.published.snapshot import Popular
from app.serving.plans import EMPTY, PlanCatalogCache
from app.serving.reader import LoadedVersion

CATALOG = PlanCatalog(
    (
        Plan("basic", "Basic", 1, Decimal("1.99"), {"storage_gb": 100}),
        Plan("max", "Max", 2, Decimal("9.99"), {"storage_gb": math.inf}, trigger_ratio=0.9),
    ),
    {("basic", "max"): ConversionRate(0.25, 5, 20)},
)


def loaded(version: int, plans: bytes | None) -> LoadedVersion:
    extras: dict[str, bytes | None] = {} if plans is None else {keys.PLANS: plans}
    return LoadedVersion(version, {}, {}, Popular(()), extras)


def test_the_plans_entry_round_trips_unlimited_quotas_and_evidence() -> None:
    assert decode_plans(encode_plans(CATALOG)) == CATALOG


def test_a_version_is_decoded_once_and_a_new_one_replaces_it() -> None:
    cache = PlanCatalogCache()
    first = loaded(1, encode_plans(CATALOG))

    held = cache.catalog(first)

    assert cache.catalog(first) is held
    assert cache.catalog(loaded(2, encode_plans(PlanCatalog(())))) == PlanCatalog(())


def test_a_version_published_without_plans_has_an_empty_ladder() -> None:
    assert PlanCatalogCache().catalog(loaded(1, None)) is EMPTY


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'{"plans": [{"plan_id": "x"}]}'])
def test_a_broken_plans_entry_is_a_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError):
        PlanCatalogCache().catalog(loaded(1, raw))
