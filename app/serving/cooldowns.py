"""Declined upgrade offers, held in process so the request path never waits on the store.

The store keeps a log of declines scored by its own clock. Each API process loads
the declines younger than the cooldown at start, then asks for the newer ones every
poll; its own declines count at once. Another process's decline is seen within one
poll interval. Times are the store's clock throughout, so hosts whose clocks disagree
still agree on when a cooldown ends.

Held: ~200 bytes per active decline per process. When the log could not be read for
`stale_after` seconds, answers that depend on cooldowns are refused (StoreUnavailable)
rather than risk offering a plan the customer just declined.
"""

from __future__ import annotations

import asyncio
import time

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
        self, store: RuleStore, guard: StoreGuard, cooldown_seconds: float, stale_after: float
    ) -> None:
        self._store = store
        self._guard = guard
        self.cooldown_seconds = cooldown_seconds
        self._stale_after = stale_after
        self._declined: dict[str, dict[str, float]] = {}  # customer -> plan -> declined at
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
        for decline in answer.declines:
            self._hold(decline)
        self._store_now, self._synced_at = answer.now, time.monotonic()
        self.last_error = None
        if answer.now - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self._prune(answer.now)
        if first:
            log.info("declines_loaded", customers=len(self._declined))

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

    def declined(self, customer_id: str, plan_ids: tuple[str, ...]) -> frozenset[str]:
        """Which of these plans the customer declined within the cooldown.

        Raises StoreUnavailable when the log has not been read for `stale_after` seconds.
        """
        now = self.store_now()
        plans = self._declined.get(customer_id)
        if not plans:
            return frozenset()
        since = now - self.cooldown_seconds
        return frozenset(plan for plan in plan_ids if plans.get(plan, float("-inf")) > since)

    def store_now(self) -> float:
        """The store's clock now, from the last sync; raises StoreUnavailable when stale."""
        if self._store_now is None:
            raise StoreUnavailable(self.last_error or "declines not loaded yet")
        age = time.monotonic() - self._synced_at
        if age > self._stale_after:
            raise StoreUnavailable(f"declines not read for {age:.1f} s ({self.last_error})")
        return self._store_now + age

    def _hold(self, decline: Decline) -> None:
        plans = self._declined.setdefault(decline.customer_id, {})
        plans[decline.plan_id] = max(decline.at, plans.get(decline.plan_id, decline.at))

    def _prune(self, now: float) -> None:
        since = now - self.cooldown_seconds
        for customer in list(self._declined):
            plans = self._declined[customer]
            for plan in [plan for plan, at in plans.items() if at <= since]:
                del plans[plan]
            if not plans:
                del self._declined[customer]
        self._pruned_at = now
