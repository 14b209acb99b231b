"""The rules export format (CSV or JSON lines), defined once for the CLI and the tests."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson

from app.published.snapshot import RuleHit

RULE_COLUMNS = (
    "antecedent",
    "consequent",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
    "count",
)
FORMATS = ("csv", "jsonl")


def rule_rows(entries: Iterable[tuple[str, list[RuleHit]]]) -> Iterator[dict[str, Any]]:
    for antecedent, hits in entries:
        for hit in hits:
            yield {
                "antecedent": antecedent,
                "consequent": hit.consequent,
                "support": hit.support,
                "confidence": hit.confidence,
                "lift": hit.lift,
                "leverage": hit.leverage,
                "conviction": hit.conviction,
                "count": hit.count,
            }


def write_rules(rows: Iterable[dict[str, Any]], handle: IO[str], fmt: str) -> int:
    written = 0
    if fmt == "csv":
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(RULE_COLUMNS)
        for row in rows:
            writer.writerow([_text(row[name]) for name in RULE_COLUMNS])
            written += 1
        return written
    for row in rows:
        conviction = row["conviction"]
        value = {**row, "conviction": "inf" if math.isinf(conviction) else conviction}
        handle.write(orjson.dumps(value).decode() + "\n")
        written += 1
    return written


def _text(value: object) -> str:
    if isinstance(value, float):
        return "inf" if math.isinf(value) else repr(value)
    return str(value)
