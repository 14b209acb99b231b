"""Repeat the simulated experiment over seeds: how often does the 95 % interval hold the truth?

Each seed plants the same uplift (treatment buys more often) in a fresh synthetic shop
(`app.events.simulate`), attributes it and computes the report exactly as
`cartlift experiment report` does. Goal: the planted revenue-per-unit uplift inside the
95 % interval in >= 93 of 100 repetitions (plain and CUPED); the conversion uplift and
the always-valid interval are counted too. The whole path (POST /events, the stream, the
drain, the database) is covered for a few seeds by
tests/integration/test_experiment_simulation.py; 100 of those would take minutes, and the
statistics are the same code.

    uv run python loadtests/bench_experiment.py [--seeds 100] [--units 4000]
"""

from __future__ import annotations

import argparse
import time

from app.events.attribution import Purchase, Shown, attribute
from app.events.report import ExperimentReport, experiment_report
from app.events.simulate import Planted, simulate
from app.events.statistics import Interval

GOAL = 0.93


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="seeded repetitions")
    parser.add_argument("--units", type=int, default=4_000, help="units per experiment")
    args = parser.parse_args()
    planted = Planted(units=args.units)
    covered = {"plain": 0, "cuped": 0, "conversion": 0, "sequential": 0}
    started = time.perf_counter()
    for seed in range(args.seeds):
        report = _report(planted, seed)
        for name, interval in _intervals(report).items():
            truth = (
                planted.conversion_uplift
                if name == "conversion"
                else planted.revenue_per_unit_uplift
            )
            covered[name] += bool(interval and interval[0] <= truth <= interval[1])
    seconds = time.perf_counter() - started
    for name, count in covered.items():
        judged = name in ("plain", "cuped")
        verdict = ("ok" if count >= GOAL * args.seeds else "MISSED") if judged else "(counted)"
        print(
            f"bench_experiment coverage interval={name} covered={count}/{args.seeds} "
            f"(goal >= {GOAL * args.seeds:.0f}) units={args.units} s={seconds:.1f} {verdict}",
            flush=True,
        )


def _report(planted: Planted, seed: int) -> ExperimentReport:
    records = simulate(planted, seed)
    shown = [
        Shown(r["unit"], r["variant"], r["at"], tuple(r["skus"]))
        for r in records
        if r["kind"] == "exposure"
    ]
    bought = [
        Purchase(
            r["customer_id"],
            r["order_id"],
            r["at"],
            tuple((s, float(q), float(p)) for s, q, p in r["lines"]),
        )
        for r in records
        if r["kind"] == "event"
    ]
    return experiment_report(attribute(shown, bought), planted.holdout_percent)


def _intervals(report: ExperimentReport) -> dict[str, Interval | None]:
    revenue = report.uplift["revenue_per_unit"]
    return {
        "plain": revenue.ci95,
        "cuped": report.cuped.uplift.ci95 if report.cuped else None,
        "conversion": report.uplift["conversion_rate"].ci95,
        "sequential": revenue.sequential_ci95,
    }


if __name__ == "__main__":
    main()
