"""CSV exports never hand a spreadsheet a formula: = + - @ at a cell's start are quoted."""

from __future__ import annotations

import csv
import io

import pytest

from app.analytics.rows import write_rows
from app.published.snapshot import RuleHit
from app.security.spreadsheet import inert
from app.serving.export import rule_rows, write_rules

FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_start_is_quoted(text: str) -> None:
    assert inert(text) == "'" + text


@pytest.mark.parametrize("text", ["roses-red-12", "a=b", "", "'already"])
def test_other_text_is_left_alone(text: str) -> None:
    assert inert(text) == text


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_rules_export_quotes_skus_but_keeps_negative_numbers() -> None:
    rule = RuleHit('=HYPERLINK("http://x")', 3, 0.01, 0.2, 0.9, -0.0012, 0.98)
    out = io.StringIO()
    write_rules(rule_rows([("@SUM(A1)|roses", [rule])]), out, "csv")
    [row] = read_csv(out.getvalue())
    assert row["antecedent"] == "'@SUM(A1)|roses"
    assert row["consequent"] == '\'=HYPERLINK("http://x")'
    assert row["leverage"] == "-0.0012"  # a number stays a number


def test_campaign_exports_quote_every_text_cell() -> None:
    out = io.StringIO()
    rows = [{"customer_id": "-2+3", "sku": "+cmd", "count": -1}]
    write_rows(rows, ["customer_id", "sku", "count"], out, "csv")
    assert read_csv(out.getvalue()) == [{"customer_id": "'-2+3", "sku": "'+cmd", "count": "-1"}]
