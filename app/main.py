"""The FastAPI application: create_app() and the lifespan that owns every resource."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from app import metrics
from app.api import events, health, merchandising, next_sale, recommend, upgrade_offers
from app.api.deps import Resources
from app.api.errors import install_error_handlers
from app.api.gate import Gate, Security
from app.api.security_docs import document_security
from app.console import close_console, install_console
from app.events.assign import Holdout
from app.events.exposures import ExposureRecorder
from app.events.stream import EventLog, open_event_log
from app.logs import configure_logging, get_logger
from app.middleware import RequestContext
from app.published import keys
from app.serving.cooldowns import Cooldowns
from app.serving.drain import drain_on_sigterm
from app.serving.guard import CircuitBreaker, StoreGuard
from app.serving.reader import FIRST_LOOK_SECONDS, RuleReader
from app.serving.signing_secret import SigningSecret
from app.settings import Settings, get_settings
from app.store.factory import store_for_requests

log = get_logger(__name__)
KEYS_FILE_POLL = 1.0  # seconds between looks at CARTLIFT_API_KEYS_FILE
_ROUTE_MODULES = (recommend, upgrade_offers, next_sale, events, merchandising, health)
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
    security = Security.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = _open_resources(settings, security)
        app.state.resources = resources
        await resources.reader.refresh(deadline=FIRST_LOOK_SECONDS)
        await resources.cooldowns.sync()
        await resources.signing_secret.load()
        interval = settings.version_poll_seconds
        pollers = [
            asyncio.create_task(resources.reader.poll_forever(interval)),
            asyncio.create_task(resources.cooldowns.poll_forever(interval)),
        ]
        if settings.events_drain_in_serve:
            pollers.append(asyncio.create_task(_drain_in_process(resources.event_log, settings)))
        resources.exposures.start()
        if security.watcher is not None:
            pollers.append(asyncio.create_task(security.watcher.poll_forever(KEYS_FILE_POLL)))
        _warn_if_open(settings)
        log.info("started", rules_version=_version(resources), store=_store_kind(settings))
        draining = drain_on_sigterm(
            resources.drain,
            settings.shutdown_delay_seconds,
            lambda: log.info("draining", delay_seconds=settings.shutdown_delay_seconds),
        )
        try:
            with draining:
                yield
        finally:
            for poller in pollers:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
            await resources.exposures.stop()
            await resources.event_log.close()
            await resources.reader.store.close()
            await close_console(app)
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
    install_console(app)
    # Added first, so it runs inside RequestContext: a refused request still gets its id.
    app.add_middleware(Gate, security=security)
    app.add_middleware(RequestContext, max_body_bytes=settings.max_body_bytes)
    document_security(app)
    return app


def _open_resources(settings: Settings, security: Security) -> Resources:
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
        held_max=settings.declines_held_max,
    )
    event_log = open_event_log(
        settings.reveal_redis_url(), settings.events_journal_dir, settings.store_pool_size
    )
    return Resources(
        settings=settings,
        reader=reader,
        cooldowns=cooldowns,
        event_log=event_log,
        exposures=ExposureRecorder(event_log, settings.exposure_flush_ms),
        holdout=Holdout(settings.holdout_percent, settings.holdout_salt, settings.holdout_arm),
        security=security,
        signing_secret=SigningSecret(store, guard),
    )


async def _drain_in_process(event_log: EventLog, settings: Settings) -> None:
    """`cartlift events drain` inside `serve`, for one-process setups: a job beside the requests.

    Imported here, so a process that does not drain never loads the database driver.
    """
    from app.db.engine import make_engine
    from app.events.drain import drain_forever

    engine = make_engine(settings.reveal_database_url())
    try:
        await drain_forever(
            event_log, engine, settings.events_drain_interval_seconds, settings.attribution_hours
        )
    finally:
        await engine.dispose()


def _warn_if_open(settings: Settings) -> None:
    if not settings.keys_configured:
        log.warning("no_api_keys", detail="no CARTLIFT_API_KEYS: the API is open to anyone")


def _version(resources: Resources) -> int | None:
    return resources.reader.loaded.version if resources.reader.loaded else None


def _store_kind(settings: Settings) -> str:
    if settings.reveal_redis_url():
        return "redis-cluster" if settings.redis_cluster else "redis"
    return f"file:{settings.snapshot_dir}"
