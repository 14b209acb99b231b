"""The public basket data sets (FIMI retail, Groceries) split as the relevance protocol says.

Retail keeps its collection order: the first 80 % of baskets train, the rest test.
Groceries has no order, so a seeded shuffle splits it 80/20. Parameters that a model
tunes (EASE's lambda) are picked on the last 10 % of the training baskets, learned from
the 90 % before them, so the test baskets never choose anything.
"""

from __future__ import annotations

import gzip
import random
from dataclasses import dataclass
from pathlib import Path

DATASETS = {"groceries": "groceries.csv", "retail": "retail.dat.gz"}
TRAIN_SHARE = 0.8
VALIDATION_SHARE = 0.1  # of the training baskets


class UnknownDataset(ValueError):
    """The name is not one of DATASETS, or its file is missing."""


@dataclass(frozen=True)
class PublicSplit:
    name: str
    train: list[list[str]]
    test: list[list[str]]

    def validation(self) -> PublicSplit:
        """The training baskets split again: the earlier 90 % learn, the last 10 % check."""
        cut = round(len(self.train) * (1 - VALIDATION_SHARE))
        return PublicSplit(f"{self.name}-validation", self.train[:cut], self.train[cut:])


def read_baskets(name: str, data_dir: Path) -> list[list[str]]:
    """Each basket as its distinct items, in file order; blanks around names are dropped."""
    if name not in DATASETS:
        raise UnknownDataset(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    path = data_dir / DATASETS[name]
    if not path.is_file():
        raise UnknownDataset(f"{path} does not exist (see the data directory's README)")
    if name == "retail":
        with gzip.open(path, "rt", encoding="ascii") as lines:
            return [list(dict.fromkeys(line.split())) for line in lines]
    with path.open(encoding="utf-8") as lines:
        return [_items(line.split(",")) for line in lines]


def _items(names: list[str]) -> list[str]:
    stripped = (name.strip() for name in names)
    return list(dict.fromkeys(name for name in stripped if name))


def split_baskets(name: str, baskets: list[list[str]], seed: int = 0) -> PublicSplit:
    """Retail in collection order; Groceries shuffled with `seed` first."""
    ordered = list(baskets)
    if name != "retail":
        random.Random(seed).shuffle(ordered)
    cut = round(len(ordered) * TRAIN_SHARE)
    return PublicSplit(name, ordered[:cut], ordered[cut:])
