"""Liveness, readiness and the Prometheus scrape endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app import metrics
from app.api.deps import ReaderDep, ResourcesDep
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
    responses={
        503: {
            "model": Readiness,
            "description": "No version loaded yet, or shutting down (draining), with the reason",
        }
    },
)
async def readyz(resources: ResourcesDep) -> Readiness | JSONResponse:
    # Only state the process holds, no store call: a probe must answer at once even when
    # the store hangs, and a store outage must not pull every replica out of a Service
    # while each still answers from the version it holds. The poller keeps the state fresh.
    reader = resources.reader
    loaded, problem = reader.loaded, reader.last_error
    if resources.drain.draining:
        body = Readiness(
            status="draining",
            version=loaded.version if loaded else None,
            reason="shutting down: finishing the requests in flight",
        )
        return _unready(body, resources.settings.retry_after_seconds)
    if loaded is None:
        body = Readiness(status="unavailable", reason=problem or "no rule version loaded yet")
        return _unready(body, resources.settings.retry_after_seconds)
    return Readiness(
        status="ready", version=loaded.version, degraded=problem is not None, reason=problem
    )


def _unready(body: Readiness, retry_seconds: int) -> JSONResponse:
    return JSONResponse(body.model_dump(), status_code=503, headers=retry_after(retry_seconds))


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus_metrics(reader: ReaderDep) -> Response:
    reader.export_gauges()  # the age grows between polls
    body, content_type = metrics.render_latest()
    return Response(body, media_type=content_type)
