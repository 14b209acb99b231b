"""The /recommend body is written without the response models: it must still be one."""

from __future__ import annotations

import orjson
import pytest

from app.api.recommend import RecommendResponse
from app.api.recommend_answer import answer_json
from app.published import snapshot
from app.published.snapshot import ProductFacts, RuleHit
from app.serving.recommend import Answer, Suggestion

CATALOG = {
    "choc": ProductFacts("choc", "Truffles 200 g", "chocolates", 12.9, 5.0, True, True),
    "card": ProductFacts("card", "Card: love", "cards", None, None, True, True),
    "roses-24": ProductFacts("roses-24", "24 red roses", "roses", 45.0, 20.0, True, True),
}
RULE = RuleHit("choc", 120, 0.0312, 0.4167, 3.95, 0.0233, 1.71)
ITEMS = [
    Suggestion("choc", "cross_sell", 2.083512, ("card", "roses-12"), RULE, 0.3335),
    Suggestion("card", "cross_sell", 0.125, ("roses-12",), None, 0.025),
    Suggestion("roses-24", "upsell", 0.666667, ("roses-12",)),
    Suggestion("card", "popular", 0.0),
]


@pytest.mark.parametrize(
    ("answer", "variant"),
    [
        (Answer("mixed", ITEMS), "treatment"),
        (Answer("rules", ITEMS[:1]), "none"),
        (Answer("popular", []), "control"),
    ],
)
def test_the_body_is_exactly_what_the_response_model_would_write(
    answer: Answer, variant: str
) -> None:
    raw = answer_json("f" * 32, 41, answer, variant, CATALOG)  # type: ignore[arg-type]
    model = RecommendResponse.model_validate_json(raw, strict=True)

    assert raw == model.model_dump_json().encode()  # the same fields, order and numbers
    assert [item.sku for item in model.items] == [item.sku for item in answer.items]
    assert (model.request_id, model.model_version, model.variant) == ("f" * 32, 41, variant)


def test_an_item_shows_its_rule_or_nulls() -> None:
    body = orjson.loads(answer_json("f" * 32, 1, Answer("mixed", ITEMS), "none", CATALOG))
    choc, card, upsell, _ = body["items"]
    assert (choc["support"], choc["confidence"], choc["lift"]) == (0.0312, 0.4167, 3.95)
    assert choc["because"] == ["card", "roses-12"] and choc["weight"] == 0.3335
    assert card["price"] is None and card["support"] is None and card["weight"] == 0.025
    assert upsell["kind"] == "upsell" and upsell["weight"] is None


def test_whole_numbers_in_entries_are_written_as_the_model_writes_them() -> None:
    """An entry may hold 10 where the model writes 10.0: both are read back as floats."""
    [rule] = snapshot.decode_rules(orjson.dumps([["choc", 3, 0, 1, 2, 0, None]]))
    catalog = snapshot.decode_catalog(orjson.dumps({"choc": ["Choc", "", 10, 4, 1, 1, []]}))
    answer = Answer("rules", [Suggestion("choc", "cross_sell", 1.0, ("card",), rule)])
    raw = answer_json("f" * 32, 1, answer, "none", catalog)
    assert raw == RecommendResponse.model_validate_json(raw).model_dump_json().encode()
