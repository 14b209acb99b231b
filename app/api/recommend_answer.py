"""The /recommend answer written straight from the ranking. Tests hold these bytes to the
response model of app.api.recommend (RecommendResponse)."""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from app.events.assign import Variant
from app.published.snapshot import ProductFacts
from app.serving.recommend import Answer, Suggestion


def answer_json(
    request_id: str,
    version: int,
    answer: Answer,
    variant: Variant,
    catalog: Mapping[str, ProductFacts],
) -> bytes:
    """The RecommendResponse body, in its fields' order.

    Building the response models and having them validated and dumped again cost a
    fifth of a checkout call; tests check these bytes against the models.
    """
    return orjson.dumps(
        {
            "request_id": request_id,
            "model_version": version,
            "strategy": answer.strategy,
            "variant": variant,
            "items": [_item_json(item, catalog[item.sku]) for item in answer.items],
        }
    )


def _item_json(item: Suggestion, facts: ProductFacts) -> dict[str, object]:
    rule = item.rule
    return {
        "sku": item.sku,
        "name": facts.name,
        "price": facts.price,
        "kind": item.kind,
        "score": item.score,
        "because": list(item.because),
        "support": None if rule is None else rule.support,
        "confidence": None if rule is None else rule.confidence,
        "lift": None if rule is None else rule.lift,
        "weight": item.weight,
    }
