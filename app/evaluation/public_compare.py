"""The default model next to the reference recommenders on one public data set (HR@K)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from app.evaluation.baselines import BASELINES, Encoded, ease, pick_ease_lambda
from app.evaluation.holdout import Case, Score, every_item_cases, holdout_cases, score
from app.evaluation.public import read_baskets, split_baskets
from app.evaluation.public_models import default_model
from app.serving.recommend import Policy

DEFAULT_MODEL = "cartlift default"
# Validation hides every item of each basket in turn: one per basket leaves Groceries'
# ~800 validation baskets too noisy to tell the lambdas apart.
VALIDATION_CASES = 20_000


@dataclass(frozen=True)
class Comparison:
    dataset: str
    k: int
    train_baskets: int
    test_baskets: int
    ease_lambda: float
    scores: list[Score]  # the default model first


def sample_cases(cases: list[Case], queries: int | None, seed: int) -> list[Case]:
    """At most `queries` cases drawn with `seed`, in their original order."""
    if queries is None or queries >= len(cases):
        return cases
    keep = sorted(random.Random(seed).sample(range(len(cases)), queries))
    return [cases[at] for at in keep]


def compare(
    dataset: str,
    data_dir: Path,
    *,
    k: int = 3,
    seed: int = 0,
    queries: int | None = None,
    policy: Policy | None = None,
) -> Comparison:
    """Every model learns from the same training baskets and answers the same queries."""
    split = split_baskets(dataset, read_baskets(dataset, data_dir), seed)
    cases = sample_cases(holdout_cases(split.test, seed), queries, seed)
    validation = split.validation()
    tuning = sample_cases(every_item_cases(validation.test), VALIDATION_CASES, seed)
    lam, _ = pick_ease_lambda(validation.train, tuning, k)
    encoded = Encoded.of(split.train)
    catalogue = len(encoded.skus)
    models = {
        DEFAULT_MODEL: default_model(split.train, k, policy or Policy()),
        **{name: build(encoded, k) for name, build in BASELINES.items()},
        f"EASE (lambda {lam:g})": ease(encoded, k, lam),
    }
    scores = [score(name, cases, model, catalogue) for name, model in models.items()]
    return Comparison(dataset, k, len(split.train), len(split.test), lam, scores)
