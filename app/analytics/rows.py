"""Campaign and report tables as files: their columns, written as CSV or JSON lines."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date
from typing import IO, Any

import orjson

from app.security.spreadsheet import inert

REACTIVATION_COLUMNS = (
    "customer_id",
    "average_ticket",
    "gap_to_average",
    "offer_sku",
    "antecedent_sku",
    "confidence",
    "lift",
    "propensity",
    "expected_value",
    "message",
)
NEXT_SALE_COLUMNS = ("customer_id", "sku", "send_on", "kind", "because", "reason")


def write_rows(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], handle: IO[str], fmt: str
) -> int:
    """CSV with a header, or one JSON object per line; returns the number of rows."""
    written = 0
    if fmt == "csv":
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _text(row[k]) for k in columns})
            written += 1
        return written
    for row in rows:
        handle.write(orjson.dumps({k: row[k] for k in columns}).decode() + "\n")
        written += 1
    return written


def _text(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    return inert(value) if isinstance(value, str) else value  # no formulas in a spreadsheet
