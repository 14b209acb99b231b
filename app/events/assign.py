"""Holdout assignment: a stable hash of salt + unit picks the arm, the same everywhere, always."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

Variant = Literal["treatment", "control", "none"]
BUCKETS = 10_000  # percent with two decimals: 12.5 % holds out buckets 0..1249


def unit_of(customer_id: str | None, session_id: str | None) -> str | None:
    """The experiment unit: the customer when known, else the session, else none."""
    return customer_id or session_id or None


def bucket(salt: str, unit: str) -> int:
    # blake2b, not hash(): Python's hash is salted per process, so arms would change per worker.
    digest = hashlib.blake2b(f"{salt}\x00{unit}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def variant_for(unit: str | None, salt: str, holdout_percent: float) -> Variant:
    """'none' without a unit (not counted); control for the held-out share of buckets."""
    if unit is None:
        return "none"
    if holdout_percent <= 0:
        return "treatment"
    return "control" if bucket(salt, unit) < round(holdout_percent * BUCKETS / 100) else "treatment"


@dataclass(frozen=True)
class Holdout:
    """The experiment as configured: who is held out, and what they get instead."""

    percent: float = 0.0
    salt: str = "cartlift"
    arm: Literal["popular", "empty"] = "popular"

    def assign(self, customer_id: str | None, session_id: str | None) -> tuple[str | None, Variant]:
        unit = unit_of(customer_id, session_id)
        return unit, variant_for(unit, self.salt, self.percent)
