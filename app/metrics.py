"""Every Prometheus metric of the service, defined once (multiprocess-safe)."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

HTTP_REQUESTS = Counter(
    "cartlift_http_requests_total", "HTTP requests by route template and status",
    ["method", "route", "status"],
)  # fmt: skip
HTTP_LATENCY = Histogram(
    "cartlift_http_request_duration_seconds", "HTTP request latency by route template",
    ["method", "route", "status"], buckets=LATENCY_BUCKETS,
)  # fmt: skip
RULES_VERSION = Gauge(
    "cartlift_rules_version", "Rule version this process serves", multiprocess_mode="livemax"
)
RULES_AGE = Gauge(
    "cartlift_rules_age_seconds", "Seconds since the served rule version was built",
    multiprocess_mode="livemin",
)  # fmt: skip
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
    "cartlift_upgrade_offer_answers_total", "Upgrade-offer answers: offered, or why not",
    ["result"],
)  # fmt: skip
UPGRADE_OUTCOMES = Counter(
    "cartlift_upgrade_outcomes_total", "Upgrade offers accepted or declined", ["outcome"]
)


def render_latest() -> tuple[bytes, str]:
    """The exposition text; merges every worker's files when running multiprocess."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
