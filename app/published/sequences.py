"""Next-sale entry shapes (`seq:{sku}`, `cust:{id}`): encoded by the job, read by the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Sequential rule antecedent -> sku: bought in a later order within `window_days`."""

    sku: str
    count: int
    support: float
    confidence: float
    lift: float
    median_days: float
    q1_days: float
    q3_days: float


@dataclass(frozen=True, slots=True)
class Refill:
    """The antecedent is a consumable: customers rebuy it about every `median_days`."""

    median_days: float
    q1_days: float
    q3_days: float
    repeaters: int
    repeat_share: float


@dataclass(frozen=True)
class SequenceEntry:
    """Everything published for one antecedent SKU."""

    window_days: int
    follow_ups: tuple[FollowUp, ...] = ()
    refill: Refill | None = None


@dataclass(frozen=True, slots=True)
class Purchase:
    sku: str
    on: date


@dataclass(frozen=True)
class CustomerEntry:
    """A customer's last purchase of each recent SKU (newest first), with their sequences."""

    purchases: tuple[Purchase, ...]
    sequences: Mapping[str, SequenceEntry]


def sequence_document(entry: SequenceEntry) -> dict[str, Any]:
    refill = entry.refill
    return {
        "w": entry.window_days,
        "f": [_follow_up_row(f) for f in entry.follow_ups],
        "r": None if refill is None else _refill_row(refill),
    }


def _follow_up_row(f: FollowUp) -> list[Any]:
    short = (_short(f.support), _short(f.confidence), _short(f.lift))
    return [f.sku, f.count, *short, f.median_days, f.q1_days, f.q3_days]


def _refill_row(r: Refill) -> list[Any]:
    return [r.median_days, r.q1_days, r.q3_days, r.repeaters, _short(r.repeat_share)]


def _short(value: float) -> float:
    """Six significant digits: ample for ranking, and a third of the bytes per customer entry."""
    return float(f"{value:.6g}")


def encode_sequence(entry: SequenceEntry) -> bytes:
    return orjson.dumps(sequence_document(entry))


def decode_sequence(raw: bytes) -> SequenceEntry:
    return _sequence(orjson.loads(raw))


def encode_customer(purchases: Sequence[Purchase], sequences: Mapping[str, bytes]) -> bytes:
    """`sequences` are already encoded `seq:` values: embedded as they are, not re-serialised."""
    return encode_customer_days([(p.sku, p.on.isoformat()) for p in purchases], sequences)


def encode_customer_days(
    purchases: Sequence[tuple[str, str]], sequences: Mapping[str, bytes]
) -> bytes:
    """The same from (sku, ISO date) pairs: the job's path for a million customers."""
    return orjson.dumps(
        {"p": purchases, "s": {sku: orjson.Fragment(raw) for sku, raw in sequences.items()}}
    )


def decode_customer(raw: bytes) -> CustomerEntry:
    loaded = orjson.loads(raw)
    return CustomerEntry(
        purchases=tuple(Purchase(sku, date.fromisoformat(on)) for sku, on in loaded["p"]),
        sequences={sku: _sequence(doc) for sku, doc in loaded["s"].items()},
    )


def _sequence(doc: dict[str, Any]) -> SequenceEntry:
    refill = doc["r"]
    return SequenceEntry(
        window_days=int(doc["w"]),
        follow_ups=tuple(FollowUp(*row) for row in doc["f"]),
        refill=None if refill is None else Refill(*refill),
    )
