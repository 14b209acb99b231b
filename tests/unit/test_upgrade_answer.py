"""The /upgrade-offers body is written without the response models: it must still be one."""

from __future__ import annotations

import math
from decimal import Decimal
from functools import partial
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.api.upgrade_answer import answer_json
from app.api.upgrade_schemas import UpgradeOffersResponse
from app.offers import ConversionRate, Plan, UpgradeDecision, sign_offer_id, verify_offer_id
from tests.unit.test_offers_examples import LADDER, daily_history, decide

UNLIMITED = Plan("max", "Max", 9, Decimal("49.5"), {"storage_gb": math.inf, "seats": 50})
SECRET = b"k" * 32
EVIDENCE = {("basic-100gb", "plus-2tb"): ConversionRate(rate=0.12212, moved=195, base=1597)}


def _round_trip(decision: UpgradeDecision) -> tuple[dict[str, Any], UpgradeOffersResponse]:
    raw = answer_json("a" * 32, 7, decision, "treatment", partial(sign_offer_id, SECRET, "u-17"))
    return orjson.loads(raw), UpgradeOffersResponse.model_validate_json(raw, strict=True)


@pytest.mark.parametrize(
    "decision",
    [
        decide("basic-100gb", {"storage_gb": 96}, conversion=EVIDENCE),
        decide("basic-100gb", {"storage_gb": 96}, plans=(*LADDER, UNLIMITED), limit=5),
        decide("free-5gb", {"storage_gb": 4.5}, history=daily_history("storage_gb", [1, 2, 3])),
        decide("basic-100gb", {"storage_gb": 10}),
        decide("business-5tb", {"storage_gb": 4900}),
        decide("basic-100gb", {"storage_gb": 96}, declined=frozenset(p.plan_id for p in LADDER)),
    ],
)
def test_the_body_is_exactly_what_the_response_model_would_write(
    decision: UpgradeDecision,
) -> None:
    body, model = _round_trip(decision)

    assert body == orjson.loads(model.model_dump_json())
    assert body["reason"] == decision.reason
    assert [offer["plan"] for offer in body["offers"]] == [o.plan_id for o in decision.offers]
    shown = [verify_offer_id(SECRET, "u-17", offer["offer_id"]) for offer in body["offers"]]
    assert shown == [offer.offer_id for offer in decision.offers]  # signed for the customer


def test_unlimited_quotas_are_null_and_rates_are_rounded() -> None:
    body, _ = _round_trip(decide("plus-2tb", {"storage_gb": 1990}, plans=(*LADDER, UNLIMITED)))
    [*_, unlimited] = body["offers"]
    assert unlimited["quota"] == {"seats": 50.0, "storage_gb": None}

    body, _ = _round_trip(decide("basic-100gb", {"storage_gb": 96}, conversion=EVIDENCE))
    assert body["offers"][0]["conversion_rate"] == 0.1221


@given(
    used=st.floats(min_value=0, max_value=10_000),
    seats=st.integers(min_value=0, max_value=10),
    limit=st.integers(min_value=1, max_value=5),
)
def test_every_decision_is_a_valid_body(used: float, seats: int, limit: int) -> None:
    decision = decide("basic-100gb", {"storage_gb": used, "seats": seats}, limit=limit)
    body, model = _round_trip(decision)
    assert body == orjson.loads(model.model_dump_json())
