"""Redis Cluster rule store: the Redis store's contract with entries spread over every slot."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from redis.asyncio import Redis, RedisCluster
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.published import keys
from app.store.redis_store import RedisRuleStore


def cluster_request_client(url: str, timeout_ms: int, pool_size: int) -> RedisCluster:
    """Millisecond timeouts and no retries, as for one Redis; the pool is per node."""
    seconds = timeout_ms / 1000
    return RedisCluster.from_url(
        url,
        socket_timeout=seconds,
        socket_connect_timeout=seconds,
        retry=Retry(NoBackoff(), 0),
        max_connections=pool_size,
    )


def cluster_job_client(url: str) -> RedisCluster:
    return RedisCluster.from_url(url, socket_timeout=30, socket_connect_timeout=5)


class RedisClusterRuleStore(RedisRuleStore):
    """Every entry is its own key, hashed to its own slot; only the control keys share one.

    Reads and writes of many entries go out as one MGET or MSET per slot, pipelined to each
    master. The pointer is still one key and a version goes live only once all its entries
    are written, so a reader sees all of one version or all of the other.
    """

    def __init__(self, client: RedisCluster) -> None:
        # The cluster client answers the same commands as a single Redis client; the few that
        # span keys (MGET, MSET) are split by slot below.
        super().__init__(cast(Redis, client), keys.CLUSTER_CONTROL)
        self._cluster = client
        self._discovery: asyncio.Task[RedisCluster] | None = None

    async def _mget(self, names: list[str]) -> list[bytes | None]:
        found: list[bytes | None] = await self._call(self._cluster.mget_nonatomic(names))
        return found

    async def _mset(self, pairs: list[tuple[str, bytes]]) -> None:
        await self._call(self._cluster.mset_nonatomic(dict(pairs)))

    async def _call(self, awaitable: Any) -> Any:
        try:
            await self._topology()
        except BaseException:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise
        return await super()._call(awaitable)

    async def _topology(self) -> None:
        """Learn (or relearn, after a failure) which master holds which slots.

        Discovery asks every node and takes longer than one request's deadline: it runs as
        its own task, shielded from the request that started it, so a timed-out request
        leaves it to finish and the next request finds the cluster mapped.
        """
        if not self._cluster._initialize:  # the client's own "topology unknown" flag
            return
        if self._discovery is None or self._discovery.done():
            self._discovery = asyncio.create_task(self._cluster.initialize())
            self._discovery.add_done_callback(_consume_error)
        await super()._call(asyncio.shield(self._discovery))


def _consume_error(task: asyncio.Task[RedisCluster]) -> None:
    # Whoever awaited it already got the error, or gave up waiting: either way it is known.
    if not task.cancelled():
        task.exception()
