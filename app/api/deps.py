"""Typed dependencies: the resources opened in the lifespan (keys are checked in app.security)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from app.api.errors import unavailable
from app.api.gate import Security
from app.events.assign import Holdout
from app.events.exposures import ExposureRecorder
from app.events.stream import EventLog
from app.security.keys import KeyRing
from app.serving.cooldowns import Cooldowns
from app.serving.drain import Drain
from app.serving.plans import PlanCatalogCache
from app.serving.reader import LoadedVersion, RuleReader
from app.serving.signing_secret import SigningSecret
from app.settings import Settings


@dataclass
class Resources:
    """Everything the lifespan opens; handlers reach it only through these dependencies."""

    settings: Settings
    reader: RuleReader
    cooldowns: Cooldowns
    event_log: EventLog
    exposures: ExposureRecorder
    holdout: Holdout
    security: Security
    signing_secret: SigningSecret
    # Decoded once per version, then shared by every request of this process.
    plan_catalogs: PlanCatalogCache = field(default_factory=PlanCatalogCache)
    drain: Drain = field(default_factory=Drain)  # set on SIGTERM: /readyz answers 503


# Dependencies are `async def` although they never await: FastAPI runs plain `def` ones in
# the thread pool, and four thread hops per request cost more than the whole ranking.
async def get_resources(request: Request) -> Resources:
    return resources_of(request)


def resources_of(request: Request) -> Resources:
    """The lifespan's resources, typed: the one place that reads them off the app."""
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_reader(resources: ResourcesDep) -> RuleReader:
    return resources.reader


ReaderDep = Annotated[RuleReader, Depends(get_reader)]


async def get_settings(resources: ResourcesDep) -> Settings:
    return resources.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def require_version(reader: ReaderDep, resources: ResourcesDep) -> LoadedVersion:
    """The held rule version, or 503 when this process has never loaded one."""
    if reader.loaded is None:
        detail = reader.last_error or "no rule version loaded yet"
        seconds = resources.settings.retry_after_seconds
        raise unavailable(seconds, detail, "rules-unavailable", "Rules unavailable")
    return reader.loaded


VersionDep = Annotated[LoadedVersion, Depends(require_version)]


async def get_key_ring(resources: ResourcesDep) -> KeyRing:
    return resources.security.ring


KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]


@dataclass(frozen=True)
class Serving:
    """Everything a hot serving route needs, in one call.

    FastAPI spends tens of microseconds per dependency it solves; on a route that ranks
    in a few hundred, four chained dependencies were a third of the request. Hot routes
    call `serving_context` themselves; others may inject it as `ServingDep`.
    """

    resources: Resources
    loaded: LoadedVersion

    @property
    def reader(self) -> RuleReader:
        return self.resources.reader

    @property
    def settings(self) -> Settings:
        return self.resources.settings


async def serving_context(request: Request) -> Serving:
    """The held version (503 without one); the key was checked before the body was read."""
    resources = resources_of(request)
    return Serving(resources, await require_version(resources.reader, resources))


ServingDep = Annotated[Serving, Depends(serving_context)]
