"""Basket contents of demo orders: an occasion's anchor, its companions and some noise."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from app.demo.catalog import PRODUCTS, UPGRADES
from app.demo.patterns import MAX_ITEMS, NOISE_P, OCCASIONS, PREMIUM_EXTRA, UPGRADE_P, Pick

Rng = np.random.Generator
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

SKUS: tuple[str, ...] = tuple(p.sku for p in PRODUCTS)
SKU_INDEX: dict[str, int] = {sku: i for i, sku in enumerate(SKUS)}
PRICES: NDArray[np.float64] = np.array([p.price for p in PRODUCTS])


def _popularity() -> NDArray[np.float64]:
    # Cheap items are picked up on impulse far more often than expensive ones.
    weights = 1.0 / np.sqrt(PRICES)
    normalised: NDArray[np.float64] = weights / weights.sum()
    return normalised


def _upgrade_columns() -> IntArray:
    columns = np.full(len(SKUS), -1, dtype=np.int64)
    for small, big in UPGRADES:
        columns[SKU_INDEX[small]] = SKU_INDEX[big]
    return columns


POPULARITY = _popularity()
UPGRADE_COLUMN = _upgrade_columns()


def pick_columns(rng: Rng, pick: Pick, size: int) -> IntArray:
    """`size` SKU columns drawn from `pick` (from the whole catalog when it lists none)."""
    if not pick.skus:
        return rng.choice(len(SKUS), size=size, p=POPULARITY)
    columns = np.array([SKU_INDEX[sku] for sku in pick.skus], dtype=np.int64)
    weights = None if pick.weights is None else np.asarray(pick.weights) / sum(pick.weights)
    return rng.choice(columns, size=size, p=weights)


def add_picks(rng: Rng, basket: BoolArray, rows: IntArray, picks: tuple[Pick, ...]) -> None:
    """Each pick joins each of `rows` with its own probability."""
    for pick in picks:
        hit = rows[rng.random(rows.size) < pick.p]
        basket[hit, pick_columns(rng, pick, hit.size)] = True


def draw_baskets(rng: Rng, occasion: IntArray, premium: BoolArray) -> BoolArray:
    """Order x SKU membership matrix for orders of the given occasions (OCCASIONS indices)."""
    n = occasion.size
    basket = np.zeros((n, len(SKUS)), dtype=np.bool_)
    anchor = np.empty(n, dtype=np.int64)
    for index, spec in enumerate(OCCASIONS):
        rows = np.flatnonzero(occasion == index)
        anchor[rows] = pick_columns(rng, spec.anchor, rows.size)
        add_picks(rng, basket, rows, spec.companions)
    anchor = _upgrade(rng, anchor, premium)
    basket[np.arange(n), anchor] = True
    _add_noise(rng, basket, premium)
    add_picks(rng, basket, np.flatnonzero(premium), (PREMIUM_EXTRA,))
    return _cap_items(rng, basket, anchor)


def _upgrade(rng: Rng, anchor: IntArray, premium: BoolArray) -> IntArray:
    # Frequent, higher-ticket customers pick the bigger variant more often.
    bigger = UPGRADE_COLUMN[anchor]
    chance = np.where(premium, UPGRADE_P[True], UPGRADE_P[False])
    swap = (bigger >= 0) & (rng.random(anchor.size) < chance)
    return np.where(swap, bigger, anchor)


def _add_noise(rng: Rng, basket: BoolArray, premium: BoolArray) -> None:
    chance = np.where(premium, NOISE_P[True], NOISE_P[False])
    rows = np.flatnonzero(rng.random(premium.size) < chance)
    basket[rows, pick_columns(rng, Pick(1.0, ()), rows.size)] = True


def _cap_items(rng: Rng, basket: BoolArray, anchor: IntArray) -> BoolArray:
    """Keep at most MAX_ITEMS SKUs per order, always including the anchor."""
    if int(basket.sum(axis=1).max(initial=0)) <= MAX_ITEMS:
        return basket
    keys = rng.random(basket.shape)
    keys[~basket] = 2.0
    keys[np.arange(anchor.size), anchor] = -1.0
    keep = np.argsort(keys, axis=1)[:, :MAX_ITEMS]
    rows = np.arange(anchor.size)[:, None]
    capped = np.zeros_like(basket)
    capped[rows, keep] = basket[rows, keep]
    return capped
