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
    reason: str | None = None


@router.get("/healthz", summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Rules are loaded and the store answers",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready, with the reason"}},
)
async def readyz(reader: ReaderDep, settings: SettingsDep) -> Readiness | JSONResponse:
    # Following the pointer doubles as the store ping; the reader's lock keeps a probe from
    # decoding a version the poller is already loading.
    await reader.refresh()
    if reader.loaded is None or reader.last_error:
        body = Readiness(
            status="unavailable",
            version=reader.loaded.version if reader.loaded else None,
            reason=reader.last_error or "no rule version loaded",
        )
        headers = retry_after(settings.retry_after_seconds)
        return JSONResponse(body.model_dump(), status_code=503, headers=headers)
    return Readiness(status="ready", version=reader.loaded.version)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus_metrics(reader: ReaderDep) -> Response:
    reader.export_gauges()  # the age grows between polls
    body, content_type = metrics.render_latest()
    return Response(body, media_type=content_type)
