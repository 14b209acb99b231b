"""The FastAPI application: create_app() and the lifespan that owns every resource."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from app import metrics
from app.api import health, merchandising, next_sale, recommend, upgrade_offers
from app.api.deps import Resources
from app.api.errors import install_error_handlers
from app.db.engine import make_engine
from app.logs import configure_logging, get_logger
from app.middleware import RequestContext
from app.published import keys
from app.serving.cooldowns import Cooldowns
from app.serving.guard import CircuitBreaker, StoreGuard
from app.serving.reader import FIRST_LOOK_SECONDS, RuleReader
from app.settings import Settings, get_settings
from app.store.factory import store_for_requests

log = get_logger(__name__)
_ROUTE_MODULES = (recommend, upgrade_offers, next_sale, merchandising, health)
_NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service; without settings, reads CARTLIFT_* (InvalidSettings names a bad one)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = _open_resources(settings)
        app.state.resources = resources
        await resources.reader.refresh(deadline=FIRST_LOOK_SECONDS)
        await resources.cooldowns.sync()
        interval = settings.version_poll_seconds
        pollers = [
            asyncio.create_task(resources.reader.poll_forever(interval)),
            asyncio.create_task(resources.cooldowns.poll_forever(interval)),
        ]
        _warn_if_open(settings)
        log.info("started", rules_version=_version(resources), store=_store_kind(settings))
        try:
            yield
        finally:
            for poller in pollers:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
            await resources.reader.store.close()
            await resources.engine.dispose()
            metrics.forget_this_process()

    app = FastAPI(
        title="cartlift",
        version="0.1.0",
        summary="Cross-sell, upsell and next-sale recommendations from co-purchase rules.",
        lifespan=lifespan,
        # Metrics are Prometheus (/metrics) and logs are JSON lines; FastAPI's own
        # OpenTelemetry hooks looked up providers and environment variables per request.
        telemetry=_NO_TELEMETRY,
        # The routes themselves, not included routers: matching a request walks included
        # routers one by one, which cost the later routes ~20 us each.
        routes=[route for module in _ROUTE_MODULES for route in module.router.routes],
    )
    install_error_handlers(app)
    app.add_middleware(RequestContext, max_body_bytes=settings.max_body_bytes)
    return app


def _open_resources(settings: Settings) -> Resources:
    guard = StoreGuard(
        settings.store_timeout_ms / 1000,
        CircuitBreaker(settings.breaker_failures, settings.breaker_reset_seconds),
    )
    store = store_for_requests(settings)
    reader = RuleReader(store, guard, extra_entries=(keys.PLANS,))
    cooldowns = Cooldowns(
        store,
        guard,
        cooldown_seconds=settings.upgrade_cooldown_days * 86_400,
        # Three polls missed in a row: a decline elsewhere may be unknown here.
        stale_after=3 * settings.version_poll_seconds,
    )
    engine = make_engine(settings.database_url)
    return Resources(settings=settings, reader=reader, engine=engine, cooldowns=cooldowns)


def _warn_if_open(settings: Settings) -> None:
    if not settings.api_keys:
        log.warning("no_api_keys", detail="CARTLIFT_API_KEYS is empty: the API is open to anyone")


def _version(resources: Resources) -> int | None:
    return resources.reader.loaded.version if resources.reader.loaded else None


def _store_kind(settings: Settings) -> str:
    if settings.redis_url:
        return "redis-cluster" if settings.redis_cluster else "redis"
    return f"file:{settings.snapshot_dir}"
