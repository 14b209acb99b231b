"""Every Prometheus metric of the service, defined once (multiprocess-safe)."""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client itself at import
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

HTTP_REQUESTS = Counter(
    "cartlift_http_requests_total",
    "HTTP requests by route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "cartlift_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
RULES_VERSION = Gauge(
    "cartlift_rules_version", "Rule version this process serves", multiprocess_mode="livemax"
)
RULES_AGE = Gauge(
    "cartlift_rules_age_seconds",
    "Seconds since the served rule version was built",
    multiprocess_mode="livemin",
)
STRATEGY = Counter(
    "cartlift_recommend_strategy_total", "Answers by strategy", ["endpoint", "strategy"]
)
EMPTY_ANSWERS = Counter(
    "cartlift_recommend_empty_total", "Answers with no items at all", ["endpoint"]
)
STORE_ERRORS = Counter(
    "cartlift_store_errors_total", "Rule store calls that failed", ["kind"]
)  # kind: error, timeout, circuit_open
UNKNOWN_SKUS = Counter("cartlift_unknown_skus_total", "Cart SKUs absent from the catalog")
UPGRADE_ANSWERS = Counter(
    "cartlift_upgrade_offer_answers_total",
    "Upgrade-offer answers: offered, or why not",
    ["result"],
)
UPGRADE_OUTCOMES = Counter(
    "cartlift_upgrade_outcomes_total", "Upgrade offers accepted or declined", ["outcome"]
)
DECLINES_HELD = Gauge(
    "cartlift_declines_held",
    "Declined upgrade offers held in process (in their cooldown)",
    multiprocess_mode="livemax",
)
DECLINES_EVICTED = Counter(
    "cartlift_declines_evicted_total",
    "Declines dropped from a process's memory before their cooldown ended (held cap reached)",
)

EVENTS = Counter("cartlift_events_total", "Events accepted by POST /events", ["type"])
EXPOSURES = Counter(
    "cartlift_exposures_total", "Answers recorded as exposures, by experiment arm", ["variant"]
)
EXPOSURES_DROPPED = Counter(
    "cartlift_exposures_dropped_total",
    "Exposures lost before reaching the event log",
    ["reason"],
)  # reason: overflow, log_unavailable
EXPOSURES_BUFFERED = Gauge(
    "cartlift_exposures_buffered",
    "Exposures held in process, what a crash now would lose",
    multiprocess_mode="livesum",
)
DRAINED = Counter(
    "cartlift_events_drained_total", "Log records committed to the database", ["kind"]
)
DRAIN_LAG = Gauge(
    "cartlift_events_drain_lag",
    "Log entries waiting for the drainer at its last pass",
    multiprocess_mode="livemax",
)
ATTRIBUTED_REVENUE = Counter(
    "cartlift_attributed_revenue_total", "Revenue of drained purchase lines whose SKU was shown"
)
AUTH_REJECTED = Counter(
    "cartlift_auth_rejected_total", "Requests refused for their key", ["reason"]
)  # reason: missing, unknown, scope, admin_disabled
RATE_LIMITED = Counter(
    "cartlift_rate_limited_total", "Requests answered 429, by the scope they asked for", ["scope"]
)
RATE_LIMIT_ERRORS = Counter(
    "cartlift_rate_limit_errors_total", "Requests let through because the counter did not answer"
)


def multiprocess_dir() -> Path | None:
    path = os.environ.get(MULTIPROC_ENV)
    return Path(path) if path else None


def wipe_multiprocess_dir(path: Path) -> None:
    """Values left by an earlier run would be added to this one's: start from nothing."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)


def forget_this_process() -> None:
    """Drop this worker's live gauges on shutdown; its counters stay in the totals."""
    path = multiprocess_dir()
    if path is not None:
        multiprocess.mark_process_dead(os.getpid(), str(path))  # type: ignore[no-untyped-call]


def _registry() -> CollectorRegistry:
    """This process's metrics, or every worker's merged when running multiprocess."""
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def render_latest() -> tuple[bytes, str]:
    """The exposition text; merges every worker's files when running multiprocess."""
    return generate_latest(_registry()), CONTENT_TYPE_LATEST


def counter_totals(counter: Counter) -> list[tuple[dict[str, str], float]]:
    """Each labelled series of a counter with its value (all workers), for pages that show it."""
    [family] = counter.describe()
    wanted = family.name + "_total"
    return [
        (dict(sample.labels), sample.value)
        for collected in _registry().collect()
        if collected.name == family.name
        for sample in collected.samples
        if sample.name == wanted
    ]
