"""The nightly rebuild: read orders, mine rules, publish a new version, record the run."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.jobs import audit
from app.jobs.counting import JDBC_JAR, SPARK_MASTER, Counted, EngineChoice
from app.jobs.engines import count_orders
from app.jobs.entries import Entries, VersionEntries, build_entries
from app.jobs.lock import LockHeld, rebuild_lock
from app.jobs.outcome import ExitCode as ExitCode
from app.jobs.outcome import RebuildResult as RebuildResult
from app.jobs.products import read_catalog
from app.jobs.progress import Reporter, Silent
from app.jobs.publish import PUBLISH_BATCH, publish_version
from app.jobs.retry import DatabaseRetry, DatabaseUnreachable, with_retry
from app.jobs.section_context import Handover, SectionContext
from app.jobs.sections import SECTIONS
from app.jobs.sources import SCOPES
from app.logs import get_logger
from app.mining.item_weights import LAMBDA, strongest_weights
from app.mining.rules import Thresholds, rules_from_counts, thresholds_from
from app.published import keys, snapshot
from app.published.snapshot import ProductFacts
from app.store.base import RuleStore

log = get_logger(__name__)


class Refused(Exception):
    """A safety guard stopped the publish; the current version keeps serving."""


@dataclass(frozen=True)
class RebuildOptions:
    scope: str = "order"
    since: timedelta | None = None
    min_support: Decimal | None = None
    min_count: int | None = None
    min_confidence: Decimal = Decimal("0.05")
    min_lift: Decimal = Decimal("1.01")
    top_n: int | None = 50
    force: bool = False
    item_weights: bool = True  # publish EASE item-item weights next to the rules
    keep: int = 3
    max_shrink: float = 0.5
    engine: str = "numpy"  # who counts: numpy in this process, or spark
    spark_master: str = SPARK_MASTER
    orders_parquet: Path | None = None  # spark reads this export instead of Postgres
    jdbc_jar: Path = JDBC_JAR

    def __post_init__(self) -> None:
        """Every parameter checked before the run reads a single order (InvalidThresholds)."""
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {self.scope!r}")
        if not 0 <= self.max_shrink <= 1:
            raise ValueError(f"max_shrink must be within [0, 1], got {self.max_shrink}")
        if self.keep < 1:
            raise ValueError(f"keep must be >= 1, got {self.keep}")
        if self.since is not None and self.since <= timedelta(0):
            raise ValueError(f"since must be a positive window, got {self.since}")
        self.thresholds(n_baskets=1)
        self.engine_choice()

    def engine_choice(self) -> EngineChoice:
        return EngineChoice(self.engine, self.spark_master, self.orders_parquet, self.jdbc_jar)

    def thresholds(self, n_baskets: int) -> Thresholds:
        return thresholds_from(
            n_baskets=n_baskets,
            min_support=self.min_support,
            min_count=self.min_count,
            min_confidence=self.min_confidence,
            min_lift=self.min_lift,
            top_n=self.top_n,
        )


@dataclass(frozen=True)
class _Run:
    """What one locked run works with; `result` fills in as the phases finish."""

    engine: AsyncEngine
    store: RuleStore
    options: RebuildOptions
    reporter: Reporter
    retry: DatabaseRetry
    publish_batch: int
    result: RebuildResult = field(default_factory=lambda: RebuildResult(ExitCode.FAILED, ""))
    cpu_mark: list[float] = field(default_factory=lambda: [time.process_time()])

    def timed(self, phase: str, since: float) -> None:
        """Wall time since `since`, and this process's CPU time since the previous phase: on
        a shared machine the wall time says more about the neighbours than about the job."""
        cpu = time.process_time()
        self.result.timings[f"{phase}_s"] = round(time.perf_counter() - since, 3)
        self.result.timings[f"{phase}_cpu_s"] = round(cpu - self.cpu_mark[0], 3)
        self.cpu_mark[0] = cpu


async def rebuild(
    engine: AsyncEngine,
    store: RuleStore,
    options: RebuildOptions,
    reporter: Reporter | None = None,
    retry: DatabaseRetry | None = None,
    publish_batch: int = PUBLISH_BATCH,
) -> RebuildResult:
    """Run one rebuild under the lock; every run that gets the lock is in rule_builds.

    Never raises for an operational failure: the result's code says what happened.
    `publish_batch` is the number of entries per store write (and per progress step).
    """
    clock = time.perf_counter()
    policy = retry or DatabaseRetry()
    run = _Run(engine, store, options, reporter or Silent(), policy, publish_batch)
    try:
        await with_retry(run.retry, "connecting", lambda: _ping(engine))
        async with rebuild_lock(engine):
            result = await _locked_rebuild(run)
    except LockHeld as error:
        result = RebuildResult(ExitCode.LOCKED, str(error))
    except DatabaseUnreachable as error:
        result = RebuildResult(ExitCode.FAILED, str(error))
    result.timings["total_s"] = round(time.perf_counter() - clock, 3)
    result.engine = options.engine
    return result


async def _ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _locked_rebuild(run: _Run) -> RebuildResult:
    build_id = await audit.start(run.engine, _parameters(run.options))
    result = run.result
    try:
        # Versions a killed or failed run left half-written are deleted before anything else.
        await run.store.discard_unfinished()
        await _mine_and_publish(run)
        result.code, result.message = ExitCode.PUBLISHED, f"published version {result.version}"
    except Refused as error:
        result.code, result.message = ExitCode.REFUSED, str(error)
    except Exception as error:
        result.code, result.message = ExitCode.FAILED, _failure(error)
        log.error("rebuild_failed", error=result.message, exc_info=True)
        await _discard_quietly(run.store)
    await _finish_quietly(run.engine, build_id, result)
    return result


async def _mine_and_publish(run: _Run) -> None:
    options, result = run.options, run.result
    clock = time.perf_counter()
    run.reporter.phase("reading orders")
    since = datetime.now(UTC) - options.since if options.since else None
    catalog, counted = await with_retry(run.retry, "reading", lambda: _count(run, since))
    run.timed("engine", clock)  # the engine's read and count, split below as it reports them
    result.timings.update({name: round(took, 3) for name, took in counted.timings.items()})

    clock = time.perf_counter()
    itemsets = counted.itemsets
    run.reporter.phase(f"mining {result.baskets:,} baskets over {result.items:,} items")
    rules = rules_from_counts(itemsets, counted.thresholds)
    result.rules, result.min_count = len(rules), counted.thresholds.min_count
    gram = counted.co_counts
    weights = None if gram is None else strongest_weights(gram.items, gram.gram, lam=LAMBDA)
    history, skus, counts = Handover(counted.history), counted.skus, itemsets.item_count
    del counted, gram  # sections need the memory
    run.timed("mine", clock)
    await _guard(run.store, options, result)

    clock = time.perf_counter()
    run.reporter.phase("reading sections")
    context = SectionContext(catalog, since, datetime.now(UTC), history)
    del history
    extra = await with_retry(run.retry, "sections", lambda: _sections(run.engine, context))
    run.timed("sections", clock)

    clock = time.perf_counter()
    run.reporter.phase("building entries")
    built = build_entries(rules, skus, counts, catalog, extra, weights)
    del extra  # streamed from here on: entries are encoded as they are written
    result.version = await publish_version(
        run.store,
        built,
        lambda: _meta(options, result, built),
        keep=options.keep,
        reporter=run.reporter,
        batch=run.publish_batch,
    )
    run.timed("publish", clock)


async def _count(run: _Run, since: datetime | None) -> tuple[dict[str, ProductFacts], Counted]:
    """The catalog and the counts of the window's orders; safe to repeat after a lost
    connection. The engine is the one seam: the rest of the run is the same for all."""
    options = run.options
    catalog_by_id = await read_catalog(run.engine)
    sku_of = {product_id: facts.sku for product_id, facts in catalog_by_id.items()}
    counted = await count_orders(
        run.engine,
        options.engine_choice(),
        options.scope,
        since,
        options.thresholds,
        options.item_weights,
        sku_of,
    )
    run.result.orders, run.result.baskets, run.result.items = (
        counted.orders,
        counted.itemsets.n_baskets,
        len(counted.skus),
    )
    return {facts.sku: facts for facts in catalog_by_id.values()}, counted


async def _sections(engine: AsyncEngine, context: SectionContext) -> list[Entries]:
    # Run after mining, when the order lines are freed: sections read their own copy.
    return [await section(engine, context) for section in SECTIONS]


async def _guard(store: RuleStore, options: RebuildOptions, result: RebuildResult) -> None:
    """Refuse an empty or sharply shrunk rule set unless forced."""
    if options.force:
        return
    if result.rules == 0:
        reason = "no orders to mine" if result.baskets == 0 else "the rule set is empty"
        raise Refused(f"refused to publish: {reason} (use --force to publish anyway)")
    previous = await _current_rule_count(store)
    if previous and result.rules < previous * (1 - options.max_shrink):
        raise Refused(
            f"refused to publish: {result.rules} rules versus {previous} in the current version, "
            f"a drop of more than {options.max_shrink:.0%} (use --force to publish anyway)"
        )


async def _current_rule_count(store: RuleStore) -> int:
    version = await store.current_version()
    if version is None:
        return 0
    [raw] = await store.fetch(version, [keys.META])
    return int(snapshot.decode_meta(raw).get("rules", 0)) if raw else 0


def _failure(error: Exception) -> str:
    message = f"{type(error).__name__}: {error}"
    if "maxmemory" in message:
        # Redis under noeviction refuses writes instead of dropping live rules: say so plainly.
        return (
            f"the rule store is out of memory (maxmemory reached), nothing was evicted: {message}"
        )
    if "java.lang.OutOfMemoryError" in message:
        # Local mode runs every task in the driver, whose heap defaults to 1 GiB.
        return (
            "the Spark driver ran out of heap: raise spark.driver.memory (e.g. 8g) in "
            f"$SPARK_CONF_DIR/spark-defaults.conf: {message}"
        )
    return message


async def _discard_quietly(store: RuleStore) -> None:
    # Best effort only: the store may be the thing that failed; the next run cleans up.
    try:
        await store.discard_unfinished()
    except Exception:
        return


async def _finish_quietly(engine: AsyncEngine, build_id: int, result: RebuildResult) -> None:
    # The database may be gone by now; the summary line still reports the outcome, and the
    # next run marks this one abandoned.
    try:
        await audit.finish(engine, build_id, result)
    except Exception as error:
        log.error("rebuild_not_recorded", build_id=build_id, error=str(error))


def _parameters(options: RebuildOptions) -> dict[str, Any]:
    return {
        name: (str(value) if value is not None and not isinstance(value, bool | int) else value)
        for name, value in asdict(options).items()
    }


def _meta(options: RebuildOptions, result: RebuildResult, built: VersionEntries) -> dict[str, Any]:
    result.checksum = built.checksum
    return {
        "built_at": datetime.now(UTC).isoformat(),
        "scope": options.scope,
        "orders": result.orders,
        "baskets": result.baskets,
        "items": result.items,
        "rules": result.rules,
        "antecedents": built.antecedents,
        "min_count": result.min_count,
        "checksum": result.checksum,
        "parameters": _parameters(options),
    }
