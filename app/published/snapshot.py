"""The shapes of published entries, encoded by the job and decoded by the API (one owner)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import orjson

from app.published import keys


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One published rule `antecedent -> consequent` as the API needs it."""

    consequent: str
    count: int
    support: float
    confidence: float
    lift: float
    leverage: float
    conviction: float  # math.inf when confidence is 1


WeightEntry = dict[str, float]
"""One item's published item-item weights: consequent -> weight, largest magnitude first.

A mapping, not a list of hits: a cart's weights are summed per candidate, and the entry
with a candidate's largest weight is looked up only for the few items an answer shows.
"""
Hits = list[RuleHit] | WeightEntry


@dataclass(frozen=True, slots=True)
class ProductFacts:
    sku: str
    name: str
    category: str
    price: float | None
    cost: float | None
    active: bool
    in_stock: bool
    upgrades: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        return self.active and self.in_stock


@dataclass(frozen=True)
class Popular:
    """Most bought items overall and per category, best first: the fallback answers."""

    overall: tuple[str, ...]
    by_category: dict[str, tuple[str, ...]] = field(default_factory=dict)


RuleRow = list[Any]  # [consequent, count, support, confidence, lift, leverage, conviction]


def encode_rule_rows(rows: list[RuleRow]) -> bytes:
    """Rules of one antecedent, best first; an infinite conviction is stored as null."""
    return orjson.dumps([[*row[:6], None if math.isinf(row[6]) else row[6]] for row in rows])


def decode_rules(raw: bytes) -> list[RuleHit]:
    return [
        RuleHit(c, int(n), float(s), float(conf), float(lift), float(lev), _conviction(conv))
        for c, n, s, conf, lift, lev, conv in orjson.loads(raw)
    ]


def _conviction(value: float | None) -> float:
    return math.inf if value is None else float(value)


def encode_weights(pairs: list[tuple[str, float]]) -> bytes:
    """One item's weights, largest magnitude first, as [[sku, weight], ...]."""
    return orjson.dumps([[sku, weight] for sku, weight in pairs])


def decode_weights(raw: bytes) -> WeightEntry:
    return {sku: float(weight) for sku, weight in orjson.loads(raw)}


def decode_hits(name: str, raw: bytes) -> Hits:
    """A rules or item-weights entry, told apart by its name."""
    if name.startswith(keys.ITEM_WEIGHTS_PREFIX):
        return decode_weights(raw)
    return decode_rules(raw)


def encode_catalog(products: list[ProductFacts]) -> bytes:
    return orjson.dumps(
        {
            p.sku: [p.name, p.category, p.price, p.cost, p.active, p.in_stock, list(p.upgrades)]
            for p in products
        }
    )


def decode_catalog(raw: bytes) -> dict[str, ProductFacts]:
    loaded: dict[str, list[Any]] = orjson.loads(raw)
    return {
        sku: ProductFacts(
            sku, name, category, _amount(price), _amount(cost), active, in_stock, tuple(upgrades)
        )
        for sku, (name, category, price, cost, active, in_stock, upgrades) in loaded.items()
    }


def _amount(value: float | None) -> float | None:
    """Floats as the API writes them (10.0, not 10), whatever wrote the entry."""
    return None if value is None else float(value)


def encode_popular(popular: Popular) -> bytes:
    return orjson.dumps({"overall": list(popular.overall), "by_category": popular.by_category})


def decode_popular(raw: bytes) -> Popular:
    loaded = orjson.loads(raw)
    return Popular(
        overall=tuple(loaded["overall"]),
        by_category={cat: tuple(skus) for cat, skus in loaded["by_category"].items()},
    )


def encode_meta(meta: dict[str, Any]) -> bytes:
    return orjson.dumps(meta)


def decode_meta(raw: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(raw)
    return loaded
