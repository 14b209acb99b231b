"""The shop's own say over answers: pin, boost, bury or block items, globally or per trigger."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum

import orjson


class Action(StrEnum):
    PIN = "pin"
    BOOST = "boost"
    BURY = "bury"
    BLOCK = "block"


DEFAULT_FACTORS = {Action.BOOST: 1.5, Action.BURY: 0.25, Action.PIN: 1.0, Action.BLOCK: 0.0}


@dataclass(frozen=True)
class MerchRule:
    sku: str
    action: Action
    antecedent: str | None = None  # None: applies to every cart
    factor: float | None = None

    @property
    def weight(self) -> float:
        return self.factor if self.factor is not None else DEFAULT_FACTORS[self.action]

    def applies(self, cart: Iterable[str]) -> bool:
        return self.antecedent is None or self.antecedent in cart


@dataclass(frozen=True)
class Merchandising:
    rules: tuple[MerchRule, ...] = ()

    def active_for(self, cart: frozenset[str]) -> list[MerchRule]:
        return [rule for rule in self.rules if rule.applies(cart)]

    def blocked(self, cart: frozenset[str]) -> set[str]:
        return {r.sku for r in self.active_for(cart) if r.action is Action.BLOCK}

    def pinned(self, cart: frozenset[str]) -> list[str]:
        return [r.sku for r in self.active_for(cart) if r.action is Action.PIN]

    def weights(self, cart: frozenset[str]) -> dict[str, float]:
        found: dict[str, float] = {}
        for rule in self.active_for(cart):
            if rule.action in (Action.BOOST, Action.BURY):
                found[rule.sku] = found.get(rule.sku, 1.0) * rule.weight
        return found


def encode_merchandising(merch: Merchandising) -> bytes:
    return orjson.dumps([asdict(rule) for rule in merch.rules])


def decode_merchandising(raw: bytes | None) -> Merchandising:
    if not raw:
        return Merchandising()
    return Merchandising(
        tuple(
            MerchRule(
                item["sku"], Action(item["action"]), item.get("antecedent"), item.get("factor")
            )
            for item in orjson.loads(raw)
        )
    )
