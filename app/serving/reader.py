"""What one API process holds: the live version's catalog and fallbacks, and cached rules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app import metrics
from app.logs import get_logger
from app.published import keys, snapshot
from app.published.sequences import CustomerEntry, SequenceEntry, decode_customer, decode_sequence
from app.published.snapshot import Hits, Popular, ProductFacts
from app.serving import heap
from app.serving.guard import StoreGuard, StoreUnavailable
from app.serving.merchandising import Merchandising, decode_merchandising, encode_merchandising
from app.serving.recommend import Assortment, MerchIndex
from app.store.base import RuleStore

log = get_logger(__name__)
CACHED_ENTRIES = 200_000
LOAD_TIMEOUT_SECONDS = 30.0
# At start nothing is served yet and a cluster client first maps the slots of every master:
# the first look at the pointer may take longer than a request's deadline, within reason.
FIRST_LOOK_SECONDS = 2.0


@dataclass(frozen=True)
class LoadedVersion:
    version: int
    meta: dict[str, Any]
    catalog: dict[str, ProductFacts]
    popular: Popular
    extras: dict[str, bytes | None] = field(default_factory=dict)
    assortment: Assortment = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Indexed once per version so requests never scan the catalog.
        object.__setattr__(self, "assortment", Assortment.index(self.catalog, self.popular))

    @property
    def built_at(self) -> float:
        stamp = self.meta.get("built_at")
        return datetime.fromisoformat(stamp).timestamp() if stamp else time.time()


class RuleReader:
    """Versions are immutable, so decoded entries are cached until the pointer moves."""

    def __init__(self, store: RuleStore, guard: StoreGuard, extra_entries: Sequence[str] = ()):
        self.store = store
        self.guard = guard
        self.loaded: LoadedVersion | None = None
        self.merchandising = Merchandising()
        self.merch_index = MerchIndex()
        self._merch_raw: bytes | None = None
        self.last_error: str | None = None
        self._extra = tuple(extra_entries)
        self._cache: dict[tuple[int, str], Hits] = {}
        self._refreshing = asyncio.Lock()

    async def refresh(self, deadline: float | None = None) -> None:
        """Follow the `current` pointer; keep serving the held version when the store fails.

        The lock keeps two callers from decoding the same version twice. `deadline` (seconds)
        replaces the request deadline for the pointer read, e.g. at start on a busy host.
        """
        async with self._refreshing:
            await self._refresh(deadline)

    async def _refresh(self, deadline: float | None) -> None:
        try:
            version = await self.guard.call(self.store.current_version(), deadline=deadline)
            if version is not None and (self.loaded is None or self.loaded.version != version):
                self.loaded = await self._load(version)
                heap.settle()
                log.info("rules_loaded", version=version, rules=self.loaded.meta.get("rules"))
            [raw] = await self.guard.call(self.store.get_flags([keys.MERCHANDISING]))
            if raw != self._merch_raw:  # decoded and indexed only when it changed
                self.use_merchandising(decode_merchandising(raw))
                self._merch_raw = raw
            self.last_error = None if version is not None else "no rule version published yet"
        except StoreUnavailable as error:
            self.last_error = f"rule store unavailable: {error}"
        except (ValueError, KeyError, TypeError) as error:  # a corrupt entry: keep what we hold
            log.error("version_unreadable", error=str(error))
            self.last_error = f"rule version unreadable: {error}"
        self.export_gauges()

    def use_merchandising(self, merch: Merchandising) -> None:
        self.merchandising = merch
        self.merch_index = MerchIndex.of(merch)

    async def replace_merchandising(
        self, merch: Merchandising, deadline: float | None = None
    ) -> None:
        """Store the shop's rules for every process, then use them here at once."""
        await self.guard.call(
            self.store.put_flag(keys.MERCHANDISING, encode_merchandising(merch), 0), deadline
        )
        self.use_merchandising(merch)

    async def customer(self, loaded: LoadedVersion, customer_id: str) -> CustomerEntry | None:
        """The customer's published purchases, in one store round trip; None when unknown."""
        [raw] = await self._fetch(loaded, [keys.customer_purchases(customer_id)])
        return None if raw is None else decode_customer(raw)

    async def sequences(
        self, loaded: LoadedVersion, skus: Sequence[str]
    ) -> dict[str, SequenceEntry]:
        """What follows each of `skus`, in one store round trip; SKUs without any are left out."""
        raw = await self._fetch(loaded, [keys.sequence_rules(sku) for sku in skus])
        return {sku: decode_sequence(value) for sku, value in zip(skus, raw, strict=True) if value}

    def _fetch(self, loaded: LoadedVersion, names: Sequence[str]) -> Awaitable[list[bytes | None]]:
        """A request's store round trip, under the deadline and circuit breaker."""
        return self.guard.call(self.store.fetch(loaded.version, names))

    async def poll_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception:  # a broken entry must not end polling for the process's life
                log.exception("refresh_failed")
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # A cancel that landed inside a timing-out store call can be swallowed by
                # the client library; without this, shutdown would wait on the poller forever.
                raise asyncio.CancelledError

    async def rules(
        self, loaded: LoadedVersion, names: Sequence[str], deadline: float | None = None
    ) -> dict[str, Hits]:
        """Rules (or item weights) per entry name: cached ones free, the rest in one round trip.

        `deadline` (seconds) replaces the request's for callers a person waits on.
        """
        found: dict[str, Hits] = {}
        missing: list[str] = []
        for name in names:
            hit = self._cache.get((loaded.version, name))
            if hit is None:
                missing.append(name)
            else:
                found[name] = hit
        if missing:
            raw = await self.guard.call(self.store.fetch(loaded.version, missing), deadline)
            for name, value in zip(missing, raw, strict=True):
                decoded = snapshot.decode_hits(name, value) if value else []
                self._remember((loaded.version, name), decoded)
                found[name] = decoded
        return found

    def _remember(self, key: tuple[int, str], value: Hits) -> None:
        # First in, first out: cheaper per hit than LRU bookkeeping, and a version's hot
        # antecedents are re-read within moments when evicted.
        if len(self._cache) >= CACHED_ENTRIES:
            del self._cache[next(iter(self._cache))]
        self._cache[key] = value

    async def _load(self, version: int) -> LoadedVersion:
        names = [keys.META, keys.CATALOG, keys.POPULAR, *self._extra]
        # Loading a version happens off the request path and reads megabytes: a request
        # deadline would throw the work away and retry it forever on a slow machine.
        meta, catalog, popular, *extras = await self.guard.call(
            self.store.fetch(version, names), deadline=LOAD_TIMEOUT_SECONDS
        )
        if meta is None or catalog is None or popular is None:
            raise StoreUnavailable(f"version {version} is incomplete")
        self._cache.clear()
        return LoadedVersion(
            version=version,
            meta=snapshot.decode_meta(meta),
            catalog=snapshot.decode_catalog(catalog),
            popular=snapshot.decode_popular(popular),
            extras=dict(zip(self._extra, extras, strict=True)),
        )

    def export_gauges(self) -> None:
        if self.loaded is not None:
            metrics.RULES_VERSION.set(self.loaded.version)
            metrics.RULES_AGE.set(max(0.0, time.time() - self.loaded.built_at))
