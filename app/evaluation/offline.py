"""Evaluate the rules a rebuild would publish against a most-popular baseline, offline.

Rules are mined in memory from the orders before the split date, with the rebuild's own
thresholds, encoded and decoded exactly as published, and ranked by the same function
that answers /recommend (upsells left out: they are not co-purchases to guess). Both
models go through the same filters (in stock, not in the cart, at most N per category),
so only the source of the candidates differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from app.evaluation.data import Split, read_split
from app.evaluation.holdout import Recommender, Score, holdout_cases, score
from app.jobs.entries import popular_items, rule_entries
from app.jobs.rebuild import RebuildOptions
from app.mining.rules import item_counts, mine_rules
from app.published import snapshot
from app.published.snapshot import Hits, Popular
from app.serving.merchandising import Merchandising
from app.serving.recommend import Assortment, Policy, Query, rank, rule_sources


class NothingToEvaluate(Exception):
    """The split leaves no orders to learn from, or no basket of 2+ items to test on."""


@dataclass(frozen=True)
class Evaluation:
    split_at: datetime
    k: int
    train_orders: int
    test_orders: int
    rules: int
    min_count: int
    scores: list[Score]  # rules first, then the baseline


async def evaluate(
    engine: AsyncEngine,
    split_at: datetime,
    *,
    k: int = 3,
    options: RebuildOptions | None = None,
    policy: Policy | None = None,
    seed: int = 0,
) -> Evaluation:
    split = await read_split(engine, split_at)
    if split.matrix.shape[0] == 0:
        raise NothingToEvaluate(f"no orders before {split_at.isoformat()} to learn from")
    cases = holdout_cases(split.test_baskets, seed)
    if not cases:
        raise NothingToEvaluate(f"no order with 2+ items on or after {split_at.isoformat()}")
    thresholds = (options or RebuildOptions()).thresholds(split.matrix.shape[0])
    mined = mine_rules(split.matrix, thresholds)
    rules = {name: snapshot.decode_rules(raw) for name, raw in rule_entries(mined, split.skus)}
    popular = popular_items(item_counts(split.matrix), split.skus, split.catalog)
    catalogue = sum(1 for facts in split.catalog.values() if facts.active and facts.in_stock)
    chosen = policy or Policy()
    with_rules = ranking(rules, Assortment.index(split.catalog, popular), chosen, k)
    baseline = ranking({}, Assortment.index(split.catalog, Popular(popular.overall)), chosen, k)
    return Evaluation(
        split_at,
        k,
        split.train_orders,
        split.test_orders,
        len(mined),
        thresholds.min_count,
        [
            score("rules", cases, with_rules, catalogue),
            score("popular", cases, baseline, catalogue),
        ],
    )


def ranking(
    rules: Mapping[str, Hits], assortment: Assortment, policy: Policy, k: int
) -> Recommender:
    """The /recommend ranking over rules held in memory, as SKUs best first."""
    merchandising = Merchandising()

    def recommend(cart: tuple[str, ...]) -> list[str]:
        names = rule_sources(cart, assortment.catalog)
        fired = {name: rules[name] for name in names if name in rules}
        query = Query(cart, limit=k, include_upsell=False)
        answer = rank(query, fired, assortment, merchandising, policy, names)
        return [s.sku for s in answer.items]

    return recommend


__all__ = ["Evaluation", "NothingToEvaluate", "Split", "evaluate", "ranking"]
