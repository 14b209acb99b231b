"""Turn mined rules and the catalog into the entries of one published version."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.mining.rules import RuleTable
from app.serving import snapshot
from app.serving.snapshot import Popular, ProductFacts
from app.store import keys

POPULAR_OVERALL = 200
POPULAR_PER_CATEGORY = 50

Entry = tuple[str, bytes]


@dataclass(frozen=True)
class VersionEntries:
    """Everything a version holds except `meta`, which is written last with the checksum."""

    entries: list[Entry]
    checksum: str
    antecedents: int


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
    extra: list[Entry] | None = None,
) -> VersionEntries:
    entries = list(rule_entries(rules, skus))
    antecedents = len(entries)
    entries += extra or []
    products = sorted(catalog.values(), key=lambda p: p.sku)
    entries.append((keys.CATALOG, snapshot.encode_catalog(products)))
    entries.append((keys.POPULAR, snapshot.encode_popular(popular_items(counts, skus, catalog))))
    digest = hashlib.sha256()
    for name, value in sorted(entries):
        digest.update(name.encode() + b"\0" + value + b"\n")
    return VersionEntries(entries, digest.hexdigest(), antecedents)
