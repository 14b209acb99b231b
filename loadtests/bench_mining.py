"""Benchmark rule mining against mlxtend side by side, then alone at 1M baskets (not a test).

Usage: uv run python loadtests/bench_mining.py [--quick]

Every data set is mined with the service defaults (thresholds_from with no overrides,
top_n off since mlxtend has none). mlxtend gets its sparse DataFrame ready-made, as ours
gets its matrix; its time is fpgrowth (max_len=3) + association_rules + keeping one-item
consequents and lift >= min_lift. Rule sets must agree away from exact threshold ties,
where mlxtend's float arithmetic may drop a rule; the script exits 1 when they do not.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.mining import (  # noqa: E402
    BasketMatrix,
    RuleTable,
    Thresholds,
    baskets_from_lists,
    encode_baskets,
    mine_rules,
    thresholds_from,
    zipf_baskets,
)

DATA_DIR = ROOT.parent / "shared" / "data"
N_ITEMS = 20_000
SEED = 20_240_601
OUR_REPEATS = 3
TIE_DISTANCE = 1e-9

RuleKey = tuple[frozenset[int], int]
Loader = Callable[[], BasketMatrix]


def generated(n_baskets: int) -> Loader:
    def load() -> BasketMatrix:
        return encode_baskets(*zipf_baskets(n_baskets, N_ITEMS, SEED), N_ITEMS)

    return load


def groceries() -> BasketMatrix:
    lines = (DATA_DIR / "groceries.csv").read_text().splitlines()
    return baskets_from_lists([line.split(",") for line in lines if line])[0]


def retail() -> BasketMatrix:
    with gzip.open(DATA_DIR / "retail.dat.gz", "rt") as lines:
        return baskets_from_lists([line.split() for line in lines if line.strip()])[0]


def timed_ours(matrix: BasketMatrix, thresholds: Thresholds) -> tuple[RuleTable, float]:
    seconds = []
    for _ in range(OUR_REPEATS):
        start = time.perf_counter()
        table = mine_rules(matrix, thresholds)
        seconds.append(time.perf_counter() - start)
    return table, statistics.median(seconds)


def timed_mlxtend(matrix: BasketMatrix, thresholds: Thresholds) -> tuple[pd.DataFrame, float]:
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    n = matrix.shape[0]
    # The accessor's classmethod is missing from pandas-stubs.
    frame = cast(Any, pd.DataFrame).sparse.from_spmatrix(matrix)
    # Half a basket below min_count, so mlxtend's float support filter keeps exactly the
    # itemsets with count >= min_count.
    min_support = (thresholds.min_count - 0.5) / n
    start = time.perf_counter()
    itemsets = fpgrowth(frame, min_support=min_support, max_len=3)
    rules = association_rules(
        itemsets,
        num_itemsets=n,
        metric="confidence",
        min_threshold=float(thresholds.min_confidence),
    )
    one_item = rules["consequents"].map(len) == 1
    rules = rules[one_item & (rules["lift"] >= float(thresholds.min_lift))]
    return rules, time.perf_counter() - start


def disagreements(ours: RuleTable, theirs: pd.DataFrame, thresholds: Thresholds) -> int:
    """Rules found by one side only, leaving out those on a confidence or lift tie."""
    limits = (float(thresholds.min_confidence), float(thresholds.min_lift))
    our_keys = {
        (frozenset(int(i) for i in antecedent if i >= 0), int(consequent))
        for antecedent, consequent, confidence, lift in zip(
            ours.antecedent, ours.consequent, ours.confidence, ours.lift, strict=True
        )
        if _away_from_ties((confidence, lift), limits)
    }
    columns = [
        theirs[name].tolist() for name in ("antecedents", "consequents", "confidence", "lift")
    ]
    their_keys = {
        (frozenset(int(i) for i in antecedent), int(next(iter(consequent))))
        for antecedent, consequent, confidence, lift in zip(*columns, strict=True)
        if _away_from_ties((float(confidence), float(lift)), limits)
    }
    return len(our_keys ^ their_keys)


def _away_from_ties(values: tuple[float, float], limits: tuple[float, float]) -> bool:
    return all(
        abs(value - limit) > TIE_DISTANCE for value, limit in zip(values, limits, strict=True)
    )


def compare(name: str, load: Loader) -> bool:
    matrix = load()
    thresholds = thresholds_from(n_baskets=matrix.shape[0], top_n=None)
    ours, ours_s = timed_ours(matrix, thresholds)
    theirs, mlxtend_s = timed_mlxtend(matrix, thresholds)
    differ = disagreements(ours, theirs, thresholds)
    print(
        f"bench_mining dataset={name} baskets={matrix.shape[0]} items={matrix.shape[1]} "
        f"min_count={thresholds.min_count} rules={len(ours)} mlxtend_rules={len(theirs)} "
        f"disagreements={differ} ours_s={ours_s:.3f} mlxtend_s={mlxtend_s:.2f} "
        f"speedup={mlxtend_s / ours_s:.0f}x",
        flush=True,
    )
    return differ == 0


def scale_run(n_baskets: int) -> None:
    """Ours alone from generated order lines to rules, in a fresh process for a clean RSS."""
    basket_ids, item_codes = zipf_baskets(n_baskets, N_ITEMS, SEED)
    start = time.perf_counter()
    matrix = encode_baskets(basket_ids, item_codes, N_ITEMS)
    encoded = time.perf_counter()
    table = mine_rules(matrix, thresholds_from(n_baskets=matrix.shape[0]))
    mined = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"bench_mining dataset=gen-{n_baskets // 1000}k baskets={matrix.shape[0]} "
        f"items={N_ITEMS} lines={len(item_codes)} rules={len(table)} "
        f"encode_s={encoded - start:.2f} ours_s={mined - encoded:.2f} "
        f"peak_rss_mib={peak_mib:.0f}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data sets only")
    parser.add_argument("--scale-only", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_only:
        scale_run(args.scale_only)
        return 0
    # Run the 1M-basket job first, in its own process: Linux carries a parent's peak RSS
    # into the child's getrusage, and mlxtend's peak would otherwise be reported as ours.
    scale = subprocess.run(
        [sys.executable, __file__, "--scale-only", "1000000"],
        check=True,
        capture_output=True,
        text=True,
    )
    datasets: list[tuple[str, Loader]] = [("gen-10k", generated(10_000)), ("groceries", groceries)]
    if not args.quick:
        datasets += [("gen-100k", generated(100_000)), ("retail", retail)]
    agreed = all([compare(name, load) for name, load in datasets])
    print(scale.stdout, end="")
    return 0 if agreed else 1


if __name__ == "__main__":
    sys.exit(main())
