"""Pure leave-one-out scoring: hide one item of each held-out basket, rank, see where it lands."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

Recommender = Callable[[tuple[str, ...]], list[str]]


@dataclass(frozen=True)
class Case:
    """A held-out basket: what stays in the cart, and the item the recommender should find."""

    cart: tuple[str, ...]
    hidden: str


@dataclass(frozen=True)
class Score:
    """Hit rate@K and MRR@K over the cases; coverage over the recommendable catalogue."""

    model: str
    hit_rate: float
    mrr: float
    coverage: float
    cases: int
    distinct_recommended: int


def holdout_cases(baskets: Iterable[Sequence[str]], seed: int = 0) -> list[Case]:
    """One case per basket of 2+ distinct items; the hidden one is drawn with `seed`."""
    chooser = random.Random(seed)
    cases: list[Case] = []
    for basket in baskets:
        items = sorted(set(basket))
        if len(items) < 2:
            continue
        hidden = items[chooser.randrange(len(items))]
        cases.append(Case(tuple(sku for sku in items if sku != hidden), hidden))
    return cases


def every_item_cases(baskets: Iterable[Sequence[str]]) -> list[Case]:
    """Each item of each basket of 2+ distinct items hidden in turn (more cases, less noise)."""
    cases: list[Case] = []
    for basket in baskets:
        items = sorted(set(basket))
        if len(items) >= 2:
            cases.extend(Case(tuple(s for s in items if s != hidden), hidden) for hidden in items)
    return cases


def score(model: str, cases: Sequence[Case], recommend: Recommender, catalogue: int) -> Score:
    """Each case's rank of the hidden item in the answer (absent = a miss, reciprocal 0)."""
    hits, reciprocal = 0, 0.0
    shown: set[str] = set()
    for case in cases:
        answer = recommend(case.cart)
        shown.update(answer)
        if case.hidden in answer:
            hits += 1
            reciprocal += 1 / (answer.index(case.hidden) + 1)
    total = max(len(cases), 1)
    return Score(
        model=model,
        hit_rate=hits / total,
        mrr=reciprocal / total,
        coverage=len(shown) / max(catalogue, 1),
        cases=len(cases),
        distinct_recommended=len(shown),
    )
