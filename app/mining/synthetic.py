"""Deterministic synthetic basket data: Zipf item popularity plus planted co-purchases."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# How far down the popularity ranking an item's companion may sit; a small window keeps
# companions about as popular as their partner, so planting them barely bends the Zipf curve.
_COMPANION_WINDOW = 16


def zipf_baskets(
    n_baskets: int,
    n_items: int,
    seed: int,
    min_items: int = 1,
    max_items: int = 8,
    exponent: float = 1.0,
    affinity: float = 0.3,
) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """Return `(basket_ids, item_codes)`, one entry per order line, grouped by basket.

    Item code `r` is the item of popularity rank `r` (P ~ 1 / (r + 1) ** exponent). Basket
    sizes are uniform in [min_items, max_items]. Independent draws alone would give lifts of
    about 1 and no real rules, so each line after the first is, with probability `affinity`,
    the fixed companion of the previous line's item: that plants genuine associations.
    Repeated draws of an item stay in the output, like quantities in a real order.
    """
    _check_arguments(n_baskets, n_items, min_items, max_items, affinity)
    rng = np.random.default_rng(seed)
    sizes = rng.integers(min_items, max_items + 1, size=n_baskets)
    items = _zipf_draws(rng, n_items, exponent, int(sizes.sum()))
    _plant_companions(rng, items, sizes, _companions(rng, n_items), affinity)
    basket_ids = np.repeat(np.arange(n_baskets, dtype=np.int64), sizes)
    return basket_ids, items


def _check_arguments(
    n_baskets: int, n_items: int, min_items: int, max_items: int, affinity: float
) -> None:
    if n_baskets < 0 or n_items < 1:
        raise ValueError(f"need n_baskets >= 0 and n_items >= 1, got {n_baskets}, {n_items}")
    if not 1 <= min_items <= max_items:
        raise ValueError(f"need 1 <= min_items <= max_items, got {min_items}, {max_items}")
    if not 0.0 <= affinity <= 1.0:
        raise ValueError(f"affinity must be within [0, 1], got {affinity}")


def _zipf_draws(
    rng: np.random.Generator, n_items: int, exponent: float, size: int
) -> NDArray[np.int32]:
    weights = 1.0 / np.arange(1, n_items + 1, dtype=np.float64) ** exponent
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    # Inverse-CDF sampling: one searchsorted instead of a Python-level draw per line.
    draws = np.searchsorted(cdf, rng.random(size), side="right")
    return np.minimum(draws, n_items - 1).astype(np.int32)


def _companions(rng: np.random.Generator, n_items: int) -> NDArray[np.int32]:
    offsets = rng.integers(1, _COMPANION_WINDOW + 1, size=n_items)
    return ((np.arange(n_items) + offsets) % n_items).astype(np.int32)


def _plant_companions(
    rng: np.random.Generator,
    items: NDArray[np.int32],
    sizes: NDArray[np.int64],
    companions: NDArray[np.int32],
    affinity: float,
) -> None:
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])) if len(sizes) else sizes
    # Walk line positions 1, 2, ... of every basket at once, so a companion can chain
    # from a previous companion; the loop runs max_items times, not once per basket.
    for position in range(1, int(sizes.max(initial=0))):
        lines = starts[sizes > position] + position
        chosen = lines[rng.random(len(lines)) < affinity]
        items[chosen] = companions[items[chosen - 1]]
