"""Field types that take JSON as documented: no number from a string, no date from a number."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import BeforeValidator

_MOMENT = "expected a date (YYYY-MM-DD) or an ISO 8601 timestamp"


def json_number(value: object) -> object:
    """false is not 0 and "3" is not 3 (3.0 still is 3)."""
    if isinstance(value, bool | str):
        raise ValueError("Input should be a number")
    return value


def iso_moment(value: object) -> date | datetime:
    """An ISO 8601 date, or a timestamp kept as a datetime; a number is neither."""
    if isinstance(value, date):  # date or datetime, from Python callers
        return value
    if not isinstance(value, str):
        raise ValueError(_MOMENT)
    try:
        if len(value) > 10:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(_MOMENT) from None


def iso_day(value: object) -> date:
    """An ISO 8601 date, or the UTC date of a timestamp (naive timestamps are UTC)."""
    moment = iso_moment(value)
    if not isinstance(moment, datetime):
        return moment
    try:
        return (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    except OverflowError:
        raise ValueError("timestamp is out of range") from None


def iso_text(value: object) -> object:
    """A timestamp comes as ISO 8601 text: 0 is not the epoch."""
    if not isinstance(value, str | datetime):
        raise ValueError("expected an ISO 8601 timestamp")
    return value


Timestamp = Annotated[datetime, BeforeValidator(iso_text)]
Count = Annotated[int, BeforeValidator(json_number)]
Amount = Annotated[float, BeforeValidator(json_number)]
