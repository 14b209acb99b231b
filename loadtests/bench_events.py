"""Load POST /events next to a bare endpoint parsing the same body, then time the drain.

Goal: >= 20,000 events/s per process in batches of 100, and a drain that keeps up with
that rate. Both servers run one uvicorn worker on loopback; the event log is a dedicated
Redis db (flushed before and after) and the drain writes to a throwaway Postgres database.
Also replays simulated experiments: the planted uplift must fall inside the 95 % interval
in >= 93 of 100 seeded repetitions. Needs wrk, Postgres and Redis.

    uv run python loadtests/bench_events.py [--duration 10] [--connections 16] [--seeds 100]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_api import (
    CARTLIFT,
    PG_SERVER,
    REDIS_URL,
    ROOT,
    _env,
    _flushed,
    _server,
    _throwaway_database,
    _wrk,
)
from redis import Redis

from app.events.attribution import Purchase, Shown, attribute
from app.events.report import experiment_report
from app.events.simulate import Planted, simulate
from app.events.stream import STREAM_KEY

PER_BATCH = 100


def main() -> None:
    args = _arguments()
    _coverage(args.seeds)
    with tempfile.TemporaryDirectory(prefix="cartlift-bench-") as tmp:
        bodies = _bodies(Path(tmp) / "events.jsonl")
        with _throwaway_database(args.pg) as database_url, _flushed(args.redis_url):
            env = _env(database_url, args.redis_url)
            subprocess.run([CARTLIFT, "migrate"], env=env, cwd=ROOT, check=True,
                           capture_output=True)  # fmt: skip
            _ingest(args, env, bodies)
            _drain(env, args.redis_url)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--port", type=int, default=8110, help="bare app; cartlift uses +1")
    parser.add_argument("--seeds", type=int, default=100, help="simulated experiments")
    parser.add_argument("--pg", default=PG_SERVER, help="Postgres server (maintenance db URL)")
    parser.add_argument("--redis-url", default=REDIS_URL, help="a Redis db used only by this")
    return parser.parse_args()


def _bodies(path: Path) -> Path:
    rng = random.Random(5)
    lines = []
    for batch in range(200):
        events = [
            {"event_id": f"b{batch}-{n}", "type": rng.choice(["click", "add_to_cart"]),
             "customer_id": f"c-{rng.randrange(50_000)}", "sku": f"sku-{rng.randrange(500)}"}
            for n in range(PER_BATCH)
        ]  # fmt: skip
        lines.append(json.dumps({"events": events}))
    path.write_text("\n".join(lines) + "\n")
    return path


def _ingest(args: argparse.Namespace, env: dict[str, str], bodies: Path) -> None:
    bare_cmd = [sys.executable, "-m", "uvicorn", "loadtests.bare_app:app", "--no-access-log",
                "--log-level", "warning", "--host", "127.0.0.1",
                "--port", str(args.port)]  # fmt: skip
    app_port = args.port + 1
    app_cmd = [CARTLIFT, "serve", "--port", str(app_port), "--workers", "1"]
    with _server(bare_cmd, args.port, env, "/healthz"), _server(app_cmd, app_port, env, "/readyz"):
        targets = {"bare": f"http://127.0.0.1:{args.port}/events",
                   "events": f"http://127.0.0.1:{app_port}/events"}  # fmt: skip
        results = {}
        for name, url in targets.items():
            _wrk(url, bodies, 2, args)  # warm-up
            results[name] = _wrk(url, bodies, args.duration, args)
    print(f"bench_events loadavg={os.getloadavg()[0]:.2f} cpus={os.cpu_count()}", flush=True)
    for name, result in results.items():
        fields = " ".join(f"{key}={value:g}" for key, value in result.items())
        print(f"bench_events target={name} events_per_s={result['rps'] * PER_BATCH:.0f} {fields}")
    rate = results["events"]["rps"] * PER_BATCH
    ratio = results["events"]["rps"] / results["bare"]["rps"]
    verdict = "ok" if rate >= 20_000 else "MISSED"
    print(f"bench_events ratio events_per_s={rate:.0f} (goal >= 20000) "
          f"rps_vs_bare={ratio:.2f} {verdict}", flush=True)  # fmt: skip


def _drain(env: dict[str, str], redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    entries = int(client.xlen(STREAM_KEY))
    client.close()
    started = time.perf_counter()
    subprocess.run([CARTLIFT, "events", "drain", "--batch", "50"], env=env, cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    seconds = time.perf_counter() - started
    rate = entries * PER_BATCH / seconds
    verdict = "ok" if rate >= 20_000 else "MISSED"
    print(f"bench_events drain entries={entries} events={entries * PER_BATCH} s={seconds:.1f} "
          f"events_per_s={rate:.0f} (goal >= 20000, includes process start) {verdict}",
          flush=True)  # fmt: skip


def _coverage(seeds: int) -> None:
    planted = Planted(units=4_000)
    covered = {"plain": 0, "cuped": 0}
    started = time.perf_counter()
    for seed in range(seeds):
        records = simulate(planted, seed)
        shown = [Shown(r["unit"], r["variant"], r["at"], tuple(r["skus"]))
                 for r in records if r["kind"] == "exposure"]  # fmt: skip
        bought = [Purchase(r["customer_id"], r["order_id"], r["at"],
                           tuple((s, float(q), float(p)) for s, q, p in r["lines"]))
                  for r in records if r["kind"] == "event"]  # fmt: skip
        report = experiment_report(attribute(shown, bought), planted.holdout_percent)
        truth = planted.revenue_per_unit_uplift
        for name, found in (("plain", report.uplift["revenue_per_unit"]),
                            ("cuped", report.cuped.uplift if report.cuped else None)):  # fmt: skip
            interval = found.ci95 if found else None
            covered[name] += bool(interval and interval[0] <= truth <= interval[1])
    seconds = time.perf_counter() - started
    for name, count in covered.items():
        verdict = "ok" if count >= 0.93 * seeds else "MISSED"
        print(
            f"bench_events coverage interval={name} covered={count}/{seeds} "
            f"(goal >= {0.93 * seeds:.0f}) s={seconds:.1f} {verdict}",
            flush=True,
        )


if __name__ == "__main__":
    main()
