"""Pure association-rule mining: order lines in, ranked co-purchase rules out (no I/O)."""

from app.mining.baskets import BasketMatrix, InvalidBaskets, baskets_from_lists, encode_baskets
from app.mining.rules import (
    InvalidThresholds,
    RuleTable,
    Thresholds,
    default_min_count,
    item_counts,
    mine_rules,
    thresholds_from,
)
from app.mining.synthetic import zipf_baskets

__all__ = [
    "BasketMatrix",
    "InvalidBaskets",
    "InvalidThresholds",
    "RuleTable",
    "Thresholds",
    "baskets_from_lists",
    "default_min_count",
    "encode_baskets",
    "item_counts",
    "mine_rules",
    "thresholds_from",
    "zipf_baskets",
]
