"""Typed dependencies: the resources opened in the lifespan, and API key checks."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.errors import ProblemError, unavailable
from app.serving.cooldowns import Cooldowns
from app.serving.plans import PlanCatalogCache
from app.serving.reader import LoadedVersion, RuleReader
from app.settings import Settings


@dataclass
class Resources:
    """Everything the lifespan opens; handlers reach it only through these dependencies."""

    settings: Settings
    reader: RuleReader
    engine: AsyncEngine
    cooldowns: Cooldowns
    # Decoded once per version, then shared by every request of this process.
    plan_catalogs: PlanCatalogCache = field(default_factory=PlanCatalogCache)
    client_keys: tuple[bytes, ...] = field(init=False)

    def __post_init__(self) -> None:
        # Unwrapped once: a hot route checks the key on every request.
        self.client_keys = tuple(key.get_secret_value().encode() for key in self.settings.api_keys)


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


def _matches(given: str | None, expected: Sequence[bytes]) -> bool:
    return given is not None and any(hmac.compare_digest(given.encode(), key) for key in expected)


async def require_client_key(
    resources: ResourcesDep, x_api_key: Annotated[str | None, Header()] = None
) -> None:
    keys = resources.client_keys
    if keys and not _matches(x_api_key, keys):
        raise ProblemError(401, "unauthorized", "Unauthorized", "missing or unknown X-API-Key")


async def require_admin_key(
    resources: ResourcesDep, x_api_key: Annotated[str | None, Header()] = None
) -> None:
    admin = resources.settings.admin_api_key
    if admin is None:
        raise ProblemError(
            403, "admin-disabled", "Admin disabled", "CARTLIFT_ADMIN_API_KEY is not set"
        )
    if not _matches(x_api_key, [admin.get_secret_value().encode()]):
        raise ProblemError(
            401, "unauthorized", "Unauthorized", "missing or unknown admin X-API-Key"
        )


ClientKey = Depends(require_client_key)
AdminKey = Depends(require_admin_key)


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
    """The client key check, then the held version (401 before 503).

    The key is read from the headers directly (a declared Header parameter costs a
    validation pass per request); routes document it with `API_KEY_PARAMETER`.
    """
    resources = resources_of(request)
    if resources.client_keys:  # an open API does not look at headers at all
        await require_client_key(resources, request.headers.get("x-api-key"))
    return Serving(resources, await require_version(resources.reader, resources))


ServingDep = Annotated[Serving, Depends(serving_context)]
API_KEY_PARAMETER = {
    "name": "x-api-key",
    "in": "header",
    "required": False,
    "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "X-Api-Key"},
}
