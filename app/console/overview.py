"""The console's first page: what is live, how it was built, and going back to a version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import ReaderDep, ResourcesDep
from app.console import figures
from app.console.session import (
    PREFIX,
    STORE_DEADLINE_SECONDS,
    ChangeDep,
    ConsoleStateDep,
    SessionDep,
)
from app.console.templates import page
from app.serving.guard import StoreUnavailable
from app.store.base import StoreError

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("", response_class=HTMLResponse)
async def overview(
    request: Request,
    session: SessionDep,
    reader: ReaderDep,
    resources: ResourcesDep,
    state: ConsoleStateDep,
    rolled_to: int | None = None,
) -> Response:
    loaded = reader.loaded
    versions, store_error = await _versions(reader)
    settings = resources.settings
    engine = state.engine(settings)
    context = {
        "title": "Overview",
        "live": figures.Live.of(loaded) if loaded else None,
        "reader_error": reader.last_error,
        "versions": [v for v in reversed(versions) if not loaded or v != loaded.version],
        "store_error": store_error,
        "builds": await figures.recent_builds(engine),
        "headline": figures.headline(),
        "experiment": await state.experiment.get(
            engine, settings.holdout_percent, settings.attribution_hours
        ),
        "rolled_to": rolled_to,
    }
    # The report is the next page people open: have it ready by then.
    state.report.warm(engine, loaded.version if loaded else None)
    return page(request, "overview.html", session, context)


@router.get("/rollback", response_class=HTMLResponse)
async def confirm_rollback(
    request: Request, session: SessionDep, reader: ReaderDep, version: Annotated[int, Query()]
) -> Response:
    live = reader.loaded.version if reader.loaded else None
    context = {"title": "Roll back", "version": version, "live": live}
    return page(request, "rollback.html", session, context)


@router.post("/rollback")
async def rollback(
    request: Request, session: ChangeDep, reader: ReaderDep, version: Annotated[int, Form()]
) -> Response:
    try:
        await reader.guard.call(reader.store.rollback(version), STORE_DEADLINE_SECONDS)
    except (StoreError, StoreUnavailable) as error:
        live = reader.loaded.version if reader.loaded else None
        context = {"title": "Roll back", "version": version, "live": live, "error": str(error)}
        return page(request, "rollback.html", session, context, status=409)
    await reader.refresh()  # this process serves it now; the others at their next poll
    return RedirectResponse(f"{PREFIX}?rolled_to={version}", status_code=303)


async def _versions(reader: ReaderDep) -> tuple[list[int], str | None]:
    try:
        return await reader.guard.call(reader.store.versions(), STORE_DEADLINE_SECONDS), None
    except StoreUnavailable as error:
        return [], str(error)
