"""The default cartlift model on public baskets: the rebuild's entries, the /recommend ranking.

The training baskets become a catalog (one category, no prices: what a shop importing only
orders has), rules mined with the rebuild's default thresholds, item weights learned as the
rebuild learns them, and the entries the rebuild would publish, decoded as the API decodes
them and ranked by the function behind /recommend.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.evaluation.holdout import Recommender
from app.evaluation.offline import ranking
from app.jobs.entries import build_entries
from app.jobs.rebuild import RebuildOptions
from app.mining.baskets import baskets_from_lists
from app.mining.item_weights import learn_item_weights
from app.mining.rules import item_counts, mine_rules
from app.published import keys, snapshot
from app.published.snapshot import ProductFacts
from app.serving.recommend import Assortment, Policy

CATEGORY = "groceries"  # one category for every item, as the shop's catalog would have


def default_model(
    train: Sequence[Sequence[str]],
    k: int,
    policy: Policy,
    options: RebuildOptions | None = None,
) -> Recommender:
    """A recommender answering from the version a default rebuild of `train` would publish."""
    matrix, skus = baskets_from_lists(train)
    catalog = {sku: ProductFacts(sku, sku, CATEGORY, None, None, True, True) for sku in skus}
    chosen = options or RebuildOptions()
    mined = mine_rules(matrix, chosen.thresholds(matrix.shape[0]))
    counts = item_counts(matrix)
    weights = learn_item_weights(matrix, counts) if chosen.item_weights else None
    version = dict(build_entries(mined, skus, counts, catalog, weights=weights))
    assortment = Assortment.index(
        snapshot.decode_catalog(version[keys.CATALOG]),
        snapshot.decode_popular(version[keys.POPULAR]),
    )
    rules = {
        name: snapshot.decode_hits(name, raw)
        for name, raw in version.items()
        if keys.rule_antecedent(name) is not None or name.startswith(keys.ITEM_WEIGHTS_PREFIX)
    }
    return ranking(rules, assortment, policy, k)
