"""Requests per key and scope with the `limits` library: in process, or shared through Redis."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from app import metrics
from app.logs import get_logger
from app.published import keys as store_keys
from app.security.keys import InvalidKey, Scope, parse_scopes

log = get_logger(__name__)


@dataclass(frozen=True)
class RateLimits:
    """The limits of every scope: its own when given, else the default (may be none)."""

    default: tuple[RateLimitItem, ...] = ()
    per_scope: dict[Scope, tuple[RateLimitItem, ...]] = field(default_factory=dict)

    def for_scope(self, scope: Scope | None) -> tuple[RateLimitItem, ...]:
        return self.per_scope.get(scope, self.default) if scope else self.default


def _items(text: str) -> tuple[RateLimitItem, ...]:
    try:
        return tuple(parse_many(text))
    except ValueError:
        raise ValueError(f"{text!r} is not in `limits` notation such as 100/second") from None


def parse_rate_limit(text: str) -> RateLimits:
    """`LIMITS` for every scope, then `SCOPE=LIMITS` overrides, separated by `;`.

    LIMITS is `limits` notation, several joined by commas: `100/second,2000/minute`.
    """
    default: tuple[RateLimitItem, ...] = ()
    per_scope: dict[Scope, tuple[RateLimitItem, ...]] = {}
    for entry in (part.strip() for part in text.split(";")):
        if not entry:
            raise ValueError("an entry is empty")
        name, equals, limit = entry.rpartition("=")
        if not equals:
            default = _items(entry)
            continue
        try:
            [scope] = parse_scopes(name.strip())
        except (InvalidKey, ValueError):
            raise ValueError(f"{name.strip()!r} is not one scope") from None
        per_scope[scope] = _items(limit.strip())
    return RateLimits(default, per_scope)


def storage_for(redis_url: str | None) -> Storage:
    """Redis when the service has one (all workers share the counts), else this process."""
    if redis_url is None:
        return MemoryStorage()
    uri = "async+" + redis_url
    return RedisStorage(uri, implementation="redispy", key_prefix=store_keys.RATE_LIMITS)


class RateLimiter:
    """Counts each (key, scope) on its own: one key's burst never limits another key."""

    def __init__(self, limits: RateLimits, redis_url: str | None, timeout: float) -> None:
        self.limits = limits
        self._redis_url = redis_url
        self._timeout = timeout
        self._strategy: SlidingWindowCounterRateLimiter | None = None

    def _limiter(self) -> SlidingWindowCounterRateLimiter:
        # Built on first use: the storage belongs to the event loop serving requests.
        if self._strategy is None:
            self._strategy = SlidingWindowCounterRateLimiter(storage_for(self._redis_url))
        return self._strategy

    async def retry_after(self, identity: str, scope: Scope | None) -> int | None:
        """Seconds to wait when `identity` is over a limit of `scope`; None when it may go on."""
        items = self.limits.for_scope(scope)
        if not items:
            return None
        try:
            async with asyncio.timeout(self._timeout):
                return await self._check(items, identity, scope)
        except Exception as error:  # an unreachable counter must not stop answers
            metrics.RATE_LIMIT_ERRORS.inc()
            log.warning("rate_limit_unchecked", error=type(error).__name__)
            return None

    async def _check(
        self, items: tuple[RateLimitItem, ...], identity: str, scope: Scope | None
    ) -> int | None:
        limiter, name = self._limiter(), scope.value if scope else "any"
        for item in items:
            if not await limiter.hit(item, identity, name):
                stats = await limiter.get_window_stats(item, identity, name)
                metrics.RATE_LIMITED.labels(name).inc()
                return max(1, math.ceil(stats.reset_time - time.time()))
        return None
