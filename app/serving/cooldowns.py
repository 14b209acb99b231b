"""Declined upgrade offers, held in process so the request path never waits on the store.

The store keeps a log of declines scored by its own clock. Each API process loads
the declines younger than the cooldown at start, then asks for the newer ones every
poll; its own declines count at once. Another process's decline is seen within one
poll interval. Times are the store's clock throughout, so hosts whose clocks disagree
still agree on when a cooldown ends.

Held: ~300 bytes per active decline per process, at most `held_max` of them: past the cap
the oldest decline is dropped (and counted in cartlift_declines_evicted_total), so memory
stays bounded whatever the traffic; size the cap above the declines one cooldown collects.
When the log could not be read for `stale_after` seconds, answers that depend on cooldowns
are refused (StoreUnavailable) rather than risk offering a plan the customer just declined.
"""

from __future__ import annotations

import asyncio
import time

from app import metrics
from app.logs import get_logger
from app.serving.guard import StoreGuard, StoreUnavailable
from app.store.base import Decline, RuleStore

log = get_logger(__name__)
# A decline written just before a poll can carry a slightly earlier time than the
# previous answer's clock (another Redis replica, a clock step): read a little back.
OVERLAP_SECONDS = 5.0
PRUNE_EVERY_SECONDS = 60.0
LOAD_TIMEOUT_SECONDS = 30.0


class Cooldowns:
    def __init__(
        self,
        store: RuleStore,
        guard: StoreGuard,
        cooldown_seconds: float,
        stale_after: float,
        held_max: int = 100_000,
    ) -> None:
        self._store = store
        self._guard = guard
        self.cooldown_seconds = cooldown_seconds
        self._stale_after = stale_after
        self._held_max = held_max
        # (customer, plan) -> declined at; insertion order is arrival order, so the first
        # entry is the oldest one held (a decline declined again moves to the end).
        self._declined: dict[tuple[str, str], float] = {}
        self._store_now: float | None = None  # the store's clock at the last sync
        self._synced_at = 0.0  # time.monotonic() of the last sync
        self._pruned_at = float("-inf")
        self.last_error: str | None = "declines not loaded yet"

    async def sync(self) -> None:
        """Read the declines noted since the last sync; keep what is held when that fails."""
        first = self._store_now is None
        since = float("-inf") if self._store_now is None else self._store_now - OVERLAP_SECONDS
        try:  # off the request path: the first load may be large
            read = self._store.declines_since(since)
            answer = await self._guard.call(read, deadline=LOAD_TIMEOUT_SECONDS)
        except StoreUnavailable as error:
            self.last_error = f"declines unavailable: {error}"
            return
        oldest_kept = answer.now - self.cooldown_seconds
        for decline in sorted(answer.declines, key=lambda held: held.at):
            if decline.at > oldest_kept:  # the log may still hold some past their cooldown
                self._hold(decline)
        metrics.DECLINES_HELD.set(len(self._declined))
        self._store_now, self._synced_at = answer.now, time.monotonic()
        self.last_error = None
        if answer.now - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self._prune(answer.now)
        if first:
            log.info("declines_loaded", declines=len(self._declined))

    async def poll_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sync()
            except Exception:  # a bad log entry must not end polling for the process's life
                log.exception("declines_sync_failed")
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # see RuleReader.poll_forever
                raise asyncio.CancelledError

    def remember(self, decline: Decline) -> None:
        """A decline this process just wrote: it counts before the next poll."""
        self._hold(decline)
        metrics.DECLINES_HELD.set(len(self._declined))

    def declined(self, customer_id: str, plan_ids: tuple[str, ...]) -> frozenset[str]:
        """Which of these plans the customer declined within the cooldown.

        Raises StoreUnavailable when the log has not been read for `stale_after` seconds.
        """
        since = self.store_now() - self.cooldown_seconds
        held = self._declined
        return frozenset(
            plan for plan in plan_ids if held.get((customer_id, plan), float("-inf")) > since
        )

    @property
    def held(self) -> int:
        """Declines held in this process now."""
        return len(self._declined)

    def store_now(self) -> float:
        """The store's clock now, from the last sync; raises StoreUnavailable when stale."""
        if self._store_now is None:
            raise StoreUnavailable(self.last_error or "declines not loaded yet")
        age = time.monotonic() - self._synced_at
        if age > self._stale_after:
            raise StoreUnavailable(f"declines not read for {age:.1f} s ({self.last_error})")
        return self._store_now + age

    def _hold(self, decline: Decline) -> None:
        key = (decline.customer_id, decline.plan_id)
        held = self._declined.get(key)
        if held is not None and held >= decline.at:
            return  # read again through the overlap, or an older copy: nothing new
        self._declined.pop(key, None)
        self._declined[key] = decline.at
        if len(self._declined) > self._held_max:
            del self._declined[next(iter(self._declined))]
            metrics.DECLINES_EVICTED.inc()

    def _prune(self, now: float) -> None:
        since = now - self.cooldown_seconds
        expired = [key for key, at in self._declined.items() if at <= since]
        for key in expired:
            del self._declined[key]
        self._pruned_at = now
        metrics.DECLINES_HELD.set(len(self._declined))
