"""Log records -> database rows (pure): events, purchase lines and exposures of a batch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from app.events.assign import unit_of
from app.events.stream import Entry, Record

EVENT_COLUMNS = (
    "event_id",
    "type",
    "unit",
    "customer_id",
    "session_id",
    "request_id",
    "at",
    "sku",
    "order_id",
)
LINE_COLUMNS = ("event_id", "line_no", "sku", "quantity", "unit_price")
EXPOSURE_COLUMNS = ("request_id", "unit", "variant", "endpoint", "skus", "at")
OUTCOME_COLUMNS = ("customer_external_id", "offer_id", "outcome", "at")


@dataclass
class Rows:
    """One drain batch, each event once (the first copy of a repeated event_id wins)."""

    events: list[tuple[object, ...]] = field(default_factory=list)
    lines: list[tuple[object, ...]] = field(default_factory=list)
    exposures: list[tuple[object, ...]] = field(default_factory=list)
    outcomes: list[tuple[object, ...]] = field(default_factory=list)


def rows_of(entries: Iterable[Entry]) -> Rows:
    rows = Rows()
    seen_events: set[str] = set()
    seen_exposures: set[str] = set()
    for entry in entries:
        for record in entry.records:
            if record["kind"] == "upgrade_outcome":
                rows.outcomes.append(_outcome(record))
            elif record["kind"] == "exposure":
                if record["request_id"] not in seen_exposures:
                    seen_exposures.add(record["request_id"])
                    rows.exposures.append(_exposure(record))
            elif record["event_id"] not in seen_events:
                seen_events.add(record["event_id"])
                _add_event(rows, record)
    return rows


def moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _add_event(rows: Rows, record: Record) -> None:
    event_id = record["event_id"]
    unit = unit_of(record["customer_id"], record["session_id"])
    rows.events.append(
        (
            event_id,
            record["type"],
            unit,
            record["customer_id"],
            record["session_id"],
            record["request_id"],
            moment(record["at"]),
            record["sku"],
            record["order_id"],
        )
    )
    for line_no, (sku, quantity, unit_price) in enumerate(record["lines"]):
        # Through str: the float 9.95 is 9.9499999..., the decimal the shop sent is 9.95.
        rows.lines.append((event_id, line_no, sku, quantity, Decimal(str(unit_price))))


def _exposure(record: Record) -> tuple[object, ...]:
    return (
        record["request_id"],
        record["unit"],
        record["variant"],
        record["endpoint"],
        list(record["skus"]),
        moment(record["at"]),
    )


def outcome_record(customer_id: str, offer_id: str, outcome: str, at: datetime) -> Record:
    """An accepted or declined upgrade offer, as the API appends it to the log."""
    return {
        "kind": "upgrade_outcome",
        "customer_id": customer_id,
        "offer_id": offer_id,
        "outcome": outcome,
        "at": at.timestamp(),
    }


def _outcome(record: Record) -> tuple[object, ...]:
    # Its unique key is the whole record: a batch committed but not acknowledged (a drainer
    # killed in between) comes back and stores nothing new.
    return (record["customer_id"], record["offer_id"], record["outcome"], moment(record["at"]))
