"""The console's pure parts: where sign-in may lead, the tester's input, sorting and search."""

from __future__ import annotations

import math
from xml.etree import ElementTree

import numpy as np
import pytest
from pydantic import ValidationError

from app.console.heatmap_svg import colour, heatmap_svg
from app.console.rules_page import RuleLine, search, sort_lines
from app.console.session import safe_back_to
from app.console.templates import age, figure
from app.console.tester import CartForm
from app.published.snapshot import Popular, ProductFacts, RuleHit
from app.serving.reader import LoadedVersion
from app.serving.recommend import RankBy


def product(sku: str, name: str) -> ProductFacts:
    return ProductFacts(sku, name, "flowers", 10.0, 4.0, True, True)


def hit(consequent: str, count: int, confidence: float, lift: float) -> RuleHit:
    return RuleHit(consequent, count, count / 1000, confidence, lift, 0.01, math.inf)


@pytest.mark.parametrize(
    ("target", "lands"),
    [
        ("/console/rules?sku=a", "/console/rules?sku=a"),
        ("/console", "/console"),
        ("/console?rolled_to=2", "/console?rolled_to=2"),
        ("https://elsewhere.example/console", "/console"),
        ("//elsewhere.example", "/console"),
        ("/consolex", "/console"),
        ("/console/\\\\elsewhere", "/console"),
        ("", "/console"),
    ],
)
def test_sign_in_only_ever_leads_to_a_console_page(target: str, lands: str) -> None:
    assert safe_back_to(target) == lands


def test_the_tester_builds_the_body_recommend_would_get() -> None:
    given = CartForm(" roses , card ", "5", "12.5", "lift", "c-1", upsell=False)
    body = given.request()
    assert [line.sku for line in body.cart] == ["roses", "card"]
    assert (body.limit, body.max_price, body.rank_by) == (5, 12.5, RankBy.LIFT)
    assert (body.customer_id, body.include_upsell) == ("c-1", False)


@pytest.mark.parametrize(
    ("field", "value"), [("limit", "many"), ("limit", "0"), ("max_price", "-1"), ("rank_by", "x")]
)
def test_bad_tester_input_is_refused_by_recommends_own_model(field: str, value: str) -> None:
    given = CartForm(**{"cart": "roses", field: value})  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as error:
        given.request()
    assert error.value.errors()[0]["loc"][0] == field


def test_rules_sort_strongest_first_or_by_name() -> None:
    catalog = {"b": product("b", "Bow"), "a": product("a", "Apron")}
    lines = [
        RuleLine(hit("b", 10, 0.5, 2.0), catalog["b"]),
        RuleLine(hit("a", 30, 0.2, 3.0), catalog["a"]),
    ]
    assert [line.hit.consequent for line in sort_lines(lines, "confidence")] == ["b", "a"]
    assert [line.hit.consequent for line in sort_lines(lines, "lift")] == ["a", "b"]
    assert [line.hit.consequent for line in sort_lines(lines, "count")] == ["a", "b"]
    assert [line.name for line in sort_lines(lines, "name")] == ["Apron", "Bow"]
    assert lines[0].antecedent_count == 20  # 10 baskets with both at 50 % confidence


def test_search_finds_sku_or_name_in_any_case_exact_sku_first() -> None:
    catalog = {
        p.sku: p
        for p in (
            product("rose", "Single rose"),
            product("roses-12", "Red roses"),
            product("vase", "Vase"),
        )
    }
    loaded = LoadedVersion(1, {}, catalog, Popular(()))
    assert [p.sku for p in search(loaded, "ROSE")] == ["rose", "roses-12"]
    assert [p.sku for p in search(loaded, "vase")] == ["vase"]
    assert search(loaded, "tulip") == []


def test_figures_read_as_a_person_says_them() -> None:
    assert [age(s) for s in (5, 180, 3 * 3600 + 120, 3 * 86400)] == [
        "5 s",
        "3 min",
        "3 h 2 min",
        "3 d 0 h",
    ]
    assert (figure(None), figure(math.inf), figure(1234.5678)) == ("\N{EN DASH}", "∞", "1,234.57")


def test_the_heatmap_is_an_svg_of_every_pair_with_the_holders_on_its_diagonal() -> None:
    shares = np.array([[1.0, 0.25, 0.0], [0.5, 1.0, 1.0], [0.0, 0.75, 1.0]])
    svg = heatmap_svg(["Roses <red>", "Card & love", "Truffles"], shares, np.array([40, 8, 3]))
    root = ElementTree.fromstring(svg)  # well-formed: names are escaped
    texts = ["".join(node.itertext()) for node in root.iter("{http://www.w3.org/2000/svg}text")]
    assert {"Roses <red>", "Card & love", "Truffles"} <= set(texts)
    assert [t for t in texts if t.endswith("%")] == ["25 %", "0 %", "50 %", "100 %", "0 %", "75 %"]
    assert {"40 holders", "8 holders", "3 holders"} <= set(texts)
    assert colour(0) == "#ffffd9" and colour(100) == "#081d58" and colour(250) == colour(100)
