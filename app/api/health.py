"""Liveness, readiness and the Prometheus scrape endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app import metrics
from app.api.deps import ReaderDep, SettingsDep
from app.api.errors import retry_after

router = APIRouter(tags=["ops"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    version: int | None = None
    degraded: bool = False
    reason: str | None = None


@router.get("/healthz", summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="A rule version is held (200 even while the store is down: answers come from it)",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "No version loaded yet, with the reason"}},
)
async def readyz(reader: ReaderDep, settings: SettingsDep) -> Readiness | JSONResponse:
    # Only state the process holds, no store call: a probe must answer at once even when
    # the store hangs, and a store outage must not pull every replica out of a Service
    # while each still answers from the version it holds. The poller keeps the state fresh.
    loaded, problem = reader.loaded, reader.last_error
    if loaded is None:
        body = Readiness(status="unavailable", reason=problem or "no rule version loaded yet")
        headers = retry_after(settings.retry_after_seconds)
        return JSONResponse(body.model_dump(), status_code=503, headers=headers)
    return Readiness(
        status="ready", version=loaded.version, degraded=problem is not None, reason=problem
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus_metrics(reader: ReaderDep) -> Response:
    reader.export_gauges()  # the age grows between polls
    body, content_type = metrics.render_latest()
    return Response(body, media_type=content_type)
