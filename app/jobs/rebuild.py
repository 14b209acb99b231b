"""The nightly rebuild: read orders, mine rules, publish a new version, record the run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import IntEnum
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncEngine

from app.jobs import audit
from app.jobs.catalog import read_catalog
from app.jobs.entries import build_entries
from app.jobs.lock import LockHeld, rebuild_lock
from app.jobs.reader import SCOPES, read_lines
from app.jobs.sections import SECTIONS, SectionContext
from app.mining.baskets import encode_baskets
from app.mining.rules import item_counts, mine_rules, thresholds_from
from app.serving import snapshot
from app.store import keys
from app.store.base import RuleStore

Step = Callable[[str], None]


class ExitCode(IntEnum):
    """What a scheduler sees; documented in the README."""

    PUBLISHED = 0
    FAILED = 1
    REFUSED = 3
    LOCKED = 75


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
    keep: int = 3
    max_shrink: float = 0.5

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {self.scope!r}")
        if not 0 <= self.max_shrink <= 1:
            raise ValueError(f"max_shrink must be within [0, 1], got {self.max_shrink}")


@dataclass
class RebuildResult:
    code: ExitCode
    message: str
    version: int | None = None
    orders: int = 0
    baskets: int = 0
    items: int = 0
    rules: int = 0
    checksum: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {**asdict(self), "code": int(self.code)}


async def rebuild(
    engine: AsyncEngine, store: RuleStore, options: RebuildOptions, step: Step | None = None
) -> RebuildResult:
    """Run one rebuild under the lock; every outcome is recorded in rule_builds."""
    try:
        async with rebuild_lock(engine):
            return await _locked_rebuild(engine, store, options, step or (lambda _: None))
    except LockHeld as error:
        return RebuildResult(ExitCode.LOCKED, str(error))


async def _locked_rebuild(
    engine: AsyncEngine, store: RuleStore, options: RebuildOptions, step: Step
) -> RebuildResult:
    build_id = await audit.start(engine, _parameters(options))
    result = RebuildResult(ExitCode.FAILED, "")
    try:
        await store.discard_unfinished()
        await _mine_and_publish(engine, store, options, step, result)
        result.code, result.message = ExitCode.PUBLISHED, f"published version {result.version}"
    except Refused as error:
        result.code, result.message = ExitCode.REFUSED, str(error)
    except Exception as error:
        result.code, result.message = ExitCode.FAILED, f"{type(error).__name__}: {error}"
        await _discard_quietly(store)
        await audit.finish(engine, build_id, result)
        raise
    await audit.finish(engine, build_id, result)
    return result


async def _mine_and_publish(
    engine: AsyncEngine,
    store: RuleStore,
    options: RebuildOptions,
    step: Step,
    result: RebuildResult,
) -> None:
    clock = time.perf_counter()
    step("reading orders")
    since = datetime.now(UTC) - options.since if options.since else None
    lines = await read_lines(engine, options.scope, since)
    catalog_by_id = await read_catalog(engine)
    product_ids, codes = np.unique(lines.product_ids, return_inverse=True)
    skus = [catalog_by_id[int(pid)].sku for pid in product_ids]
    matrix = encode_baskets(lines.basket_ids, codes.astype(np.int32), len(skus))
    result.orders, result.baskets, result.items = lines.orders, matrix.shape[0], len(skus)
    result.timings["read_s"] = round(time.perf_counter() - clock, 3)

    clock = time.perf_counter()
    step(f"mining {result.baskets} baskets over {result.items} items")
    thresholds = thresholds_from(
        n_baskets=max(result.baskets, 1),
        min_support=options.min_support,
        min_count=options.min_count,
        min_confidence=options.min_confidence,
        min_lift=options.min_lift,
        top_n=options.top_n,
    )
    rules = mine_rules(matrix, thresholds)
    result.rules = len(rules)
    result.timings["mine_s"] = round(time.perf_counter() - clock, 3)
    await _guard(store, options, result)

    clock = time.perf_counter()
    step(f"publishing {result.rules} rules")
    catalog = {facts.sku: facts for facts in catalog_by_id.values()}
    context = SectionContext(catalog=catalog, since=since, now=datetime.now(UTC))
    extra = [entry for section in SECTIONS for entry in await section(engine, context)]
    built = build_entries(rules, skus, item_counts(matrix), catalog, extra)
    result.checksum = built.checksum
    meta = _meta(options, result, thresholds.min_count, built.antecedents)
    version = await store.allocate_version()
    result.version = version
    await store.write_entries(version, built.entries)
    await store.write_entries(
        version, [(keys.META, snapshot.encode_meta({**meta, "version": version}))]
    )
    await store.activate(version, keep=options.keep)
    result.timings["publish_s"] = round(time.perf_counter() - clock, 3)


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


async def _discard_quietly(store: RuleStore) -> None:
    # Best effort only: the store may be the thing that failed; the next run cleans up.
    try:
        await store.discard_unfinished()
    except Exception:
        return


def _parameters(options: RebuildOptions) -> dict[str, Any]:
    return {
        name: (str(value) if value is not None and not isinstance(value, bool | int) else value)
        for name, value in asdict(options).items()
    }


def _meta(
    options: RebuildOptions, result: RebuildResult, min_count: int, antecedents: int
) -> dict[str, Any]:
    return {
        "built_at": datetime.now(UTC).isoformat(),
        "scope": options.scope,
        "orders": result.orders,
        "baskets": result.baskets,
        "items": result.items,
        "rules": result.rules,
        "antecedents": antecedents,
        "min_count": min_count,
        "checksum": result.checksum,
        "parameters": _parameters(options),
    }
