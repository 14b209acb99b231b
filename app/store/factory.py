"""Build the configured rule store: Redis when CARTLIFT_REDIS_URL is set, else file snapshots."""

from __future__ import annotations

from app.settings import Settings
from app.store.base import RuleStore
from app.store.file_store import FileRuleStore
from app.store.redis_store import RedisRuleStore, job_client, request_client


def store_for_requests(settings: Settings) -> RuleStore:
    if settings.redis_url:
        client = request_client(
            settings.redis_url, settings.store_timeout_ms, settings.store_pool_size
        )
        return RedisRuleStore(client)
    return FileRuleStore(settings.snapshot_dir)


def store_for_jobs(settings: Settings) -> RuleStore:
    if settings.redis_url:
        return RedisRuleStore(job_client(settings.redis_url))
    return FileRuleStore(settings.snapshot_dir)
