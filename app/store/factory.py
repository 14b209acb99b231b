"""Build the configured rule store: Redis (or Redis Cluster) when a URL is set, else files."""

from __future__ import annotations

from app.settings import Settings
from app.store.base import RuleStore
from app.store.file_store import FileRuleStore
from app.store.redis_cluster_store import (
    RedisClusterRuleStore,
    cluster_job_client,
    cluster_request_client,
)
from app.store.redis_store import RedisRuleStore, job_client, request_client


def store_for_requests(settings: Settings) -> RuleStore:
    url, timeout, pool = (
        settings.reveal_redis_url(),
        settings.store_timeout_ms,
        settings.store_pool_size,
    )
    if url and settings.redis_cluster:
        return RedisClusterRuleStore(cluster_request_client(url, timeout, pool))
    if url:
        return RedisRuleStore(request_client(url, timeout, pool))
    return FileRuleStore(settings.snapshot_dir)


def store_for_jobs(settings: Settings) -> RuleStore:
    url = settings.reveal_redis_url()
    if url and settings.redis_cluster:
        return RedisClusterRuleStore(cluster_job_client(url))
    if url:
        return RedisRuleStore(job_client(url))
    return FileRuleStore(settings.snapshot_dir)
