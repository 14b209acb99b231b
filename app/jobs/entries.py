"""Turn mined rules and the catalog into the entries of one published version."""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterator
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from app.mining.item_weights import ItemWeights
from app.mining.rules import RuleTable
from app.published import keys, snapshot
from app.published.snapshot import Popular, ProductFacts

POPULAR_OVERALL = 200
POPULAR_PER_CATEGORY = 50

Entry = tuple[str, bytes]


class Entries(Protocol):
    """What a section returns: a list, or a stream that yields its entries in name order."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Entry]: ...


class VersionEntries:
    """Everything a version holds except `meta`, which is written last with the checksum.

    Entries stream in name order, hashed as they pass, so they are never all in memory at
    once; the checksum (over the sorted entries, as ever) is known once they have all passed.
    """

    def __init__(self, parts: list[Entries], antecedents: int) -> None:
        self._parts, self.antecedents = parts, antecedents
        self._checksum: str | None = None

    def __len__(self) -> int:
        return sum(len(part) for part in self._parts)

    def __iter__(self) -> Iterator[Entry]:
        digest = hashlib.sha256()
        streams = [
            sorted(part) if isinstance(part, list) else _in_order(part) for part in self._parts
        ]
        for name, value in heapq.merge(*streams):
            digest.update(name.encode() + b"\0" + value + b"\n")
            yield name, value
        self._checksum = digest.hexdigest()

    @property
    def checksum(self) -> str:
        if self._checksum is None:
            raise RuntimeError("the checksum is known once every entry has been read")
        return self._checksum


def _in_order(entries: Entries) -> Iterator[Entry]:
    previous: Entry | None = None
    for entry in entries:
        if previous is not None and entry < previous:
            raise ValueError(f"section entry {entry[0]!r} came after {previous[0]!r}")
        previous = entry
        yield entry


def rule_entries(rules: RuleTable, skus: list[str]) -> Iterator[Entry]:
    """One entry per antecedent, rules already ranked best first by the miner."""
    if len(rules) == 0:
        return
    first, second = rules.antecedent[:, 0], rules.antecedent[:, 1]
    boundaries = np.flatnonzero((np.diff(first) != 0) | (np.diff(second) != 0)) + 1
    starts = np.concatenate(([0], boundaries)).tolist()
    ends = [*starts[1:], len(rules)]
    columns = list(
        zip(
            rules.consequent.tolist(),
            rules.count.tolist(),
            rules.support.tolist(),
            rules.confidence.tolist(),
            rules.lift.tolist(),
            rules.leverage.tolist(),
            rules.conviction.tolist(),
            strict=True,
        )
    )
    for start, end in zip(starts, ends, strict=True):
        a, b = int(first[start]), int(second[start])
        name = keys.item_rules(skus[a]) if b < 0 else keys.pair_rules(skus[a], skus[b])
        rows = [[skus[row[0]], *row[1:]] for row in columns[start:end]]
        yield name, snapshot.encode_rule_rows(rows)


def weight_entries(weights: ItemWeights, skus: list[str]) -> Iterator[Entry]:
    """One entry per item with weights: what it predicts, strongest first."""
    targets, values = weights.target.tolist(), weights.weight.tolist()
    for source, row, row_weights in zip(weights.source.tolist(), targets, values, strict=True):
        pairs = [(skus[t], w) for t, w in zip(row, row_weights, strict=True) if t >= 0]
        if pairs:
            yield keys.item_weights(skus[source]), snapshot.encode_weights(pairs)


def popular_items(
    counts: NDArray[np.int64], skus: list[str], catalog: dict[str, ProductFacts]
) -> Popular:
    """Most bought first; ties broken by SKU so a rebuild on the same data is identical."""
    order = sorted(range(len(skus)), key=lambda code: (-int(counts[code]), skus[code]))
    ranked = [skus[code] for code in order if counts[code] > 0]
    by_category: dict[str, list[str]] = {}
    for sku in ranked:
        facts = catalog.get(sku)
        if facts is None or not facts.category:
            continue
        bucket = by_category.setdefault(facts.category, [])
        if len(bucket) < POPULAR_PER_CATEGORY:
            bucket.append(sku)
    return Popular(
        overall=tuple(ranked[:POPULAR_OVERALL]),
        by_category={cat: tuple(items) for cat, items in sorted(by_category.items())},
    )


def build_entries(
    rules: RuleTable,
    skus: list[str],
    counts: NDArray[np.int64],
    catalog: dict[str, ProductFacts],
    extra: list[Entries] | None = None,
    weights: ItemWeights | None = None,
) -> VersionEntries:
    entries = list(rule_entries(rules, skus))
    antecedents = len(entries)
    if weights is not None:
        entries.extend(weight_entries(weights, skus))
    products = sorted(catalog.values(), key=lambda p: p.sku)
    entries.append((keys.CATALOG, snapshot.encode_catalog(products)))
    entries.append((keys.POPULAR, snapshot.encode_popular(popular_items(counts, skus, catalog))))
    return VersionEntries([entries, *(extra or [])], antecedents)
