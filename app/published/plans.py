"""The published plan catalog entry (`plans`): its bytes, written by the job, read by the API."""

from __future__ import annotations

import orjson

from app.offers import PlanCatalog, plans_from_json, plans_to_json


def encode_plans(catalog: PlanCatalog) -> bytes:
    return orjson.dumps(plans_to_json(catalog))


def decode_plans(raw: bytes) -> PlanCatalog:
    """Raises ValueError naming the broken part of the entry."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"plans entry is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise ValueError("plans entry must be a JSON object")
    return plans_from_json(data)
