"""POST /events: clicks, add-to-carts and purchases, appended whole to the event log."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from app import metrics
from app.api.deps import ResourcesDep
from app.api.errors import problem_responses, unavailable
from app.api.fields import Amount, Count, Timestamp
from app.events.stream import EventLogUnavailable, Record

router = APIRouter(tags=["events"])
MAX_EVENTS = 1_000
Text = Annotated[str, Field(min_length=1, max_length=128)]
NEEDS: dict[str, tuple[str, ...]] = {
    "click": ("sku",),
    "add_to_cart": ("sku",),
    "purchase": ("order_id", "lines"),
}


class PurchaseLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Text
    quantity: Count = Field(gt=0, le=1_000_000)
    unit_price: Amount = Field(ge=0, allow_inf_nan=False, le=1e12)


def _needs(*names: str) -> dict[str, Any]:
    return {
        "required": list(names),
        "properties": {name: {"not": {"type": "null"}} for name in names},
    }


# What `_check` enforces, said in JSON Schema too, so a client (or a generated test) knows.
EVENT_RULES: dict[str, Any] = {
    "allOf": [
        {"anyOf": [_needs("customer_id"), _needs("session_id")]},
        *(
            {"if": {"properties": {"type": {"const": kind}}}, "then": _needs(*names)}
            for kind, names in NEEDS.items()
        ),
    ]
}


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=EVENT_RULES)
    event_id: Text | None = Field(
        default=None, description="Dedupe key: the same id sent twice counts once"
    )
    type: Literal["click", "add_to_cart", "purchase"]
    customer_id: Text | None = None
    session_id: Text | None = None
    request_id: str | None = Field(
        default=None, max_length=64, description="The answer this event follows, if any"
    )
    at: Timestamp | None = Field(default=None, description="ISO 8601; default now, naive is UTC")
    sku: Text | None = Field(default=None, description="Required for click and add_to_cart")
    order_id: Text | None = Field(default=None, description="Required for purchase")
    lines: list[PurchaseLine] | None = Field(
        default=None, min_length=1, max_length=500, description="Required for purchase"
    )


class EventsRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {"type": "click", "customer_id": "2769", "sku": "chocolates-box"},
                        {
                            "event_id": "order-1001",
                            "type": "purchase",
                            "customer_id": "2769",
                            "order_id": "1001",
                            "lines": [{"sku": "chocolates-box", "quantity": 1, "unit_price": 9.5}],
                        },
                    ]
                }
            ]
        },
    )
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


class Accepted(BaseModel):
    accepted: int


@router.post(
    "/events",
    status_code=202,
    responses=problem_responses(401, 413, 422, 503),
    summary="Record clicks, add-to-carts and purchases (up to 1,000 per call)",
)
async def post_events(body: EventsRequest, request: Request, resources: ResourcesDep) -> Accepted:
    problems = [issue for index, event in enumerate(body.events) for issue in _check(index, event)]
    if problems:  # one bad event refuses the batch: nothing of it reaches the log
        raise RequestValidationError(problems)
    received = datetime.now(UTC).timestamp()
    batch = uuid.uuid4().hex
    records = [_record(event, f"{batch}-{i}", received) for i, event in enumerate(body.events)]
    try:
        await resources.event_log.append(records)
    except EventLogUnavailable as error:
        raise unavailable(
            resources.settings.retry_after_seconds,
            f"events not kept: {error}",
            "events-unavailable",
            "Event log unavailable",
        ) from None
    # One increment per type, not per event: in multiprocess mode each is a locked write.
    for event_type, count in Counter(event.type for event in body.events).items():
        metrics.EVENTS.labels(event_type).inc(count)
    return Accepted(accepted=len(records))


def _check(index: int, event: EventIn) -> list[dict[str, Any]]:
    """What the schema alone cannot say: the unit, and the fields each type needs."""
    found = []
    if not event.customer_id and not event.session_id:
        found.append(_missing(index, "customer_id", "customer_id or session_id is required"))
    for name in NEEDS[event.type]:
        if getattr(event, name) is None:
            found.append(_missing(index, name, f"Field required for a {event.type} event"))
    return found


def _missing(index: int, name: str, message: str) -> dict[str, Any]:
    return {"loc": ("body", "events", index, name), "msg": message, "type": "missing"}


def _record(event: EventIn, default_id: str, received: float) -> Record:
    at = event.at if event.at is None or event.at.tzinfo else event.at.replace(tzinfo=UTC)
    return {
        "kind": "event",
        # Without the shop's own id, one is made here: a drain retried after a crash still
        # counts the event once (a client resending the batch would count it twice).
        "event_id": event.event_id or default_id,
        "type": event.type,
        "customer_id": event.customer_id,
        "session_id": event.session_id,
        "request_id": event.request_id,
        "at": at.timestamp() if at else received,
        "sku": event.sku,
        "order_id": event.order_id,
        "lines": [[line.sku, line.quantity, line.unit_price] for line in event.lines or ()],
    }
