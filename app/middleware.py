"""ASGI middleware: a request id on every log line and response, and request metrics."""

from __future__ import annotations

import functools
import time
import uuid

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics

REQUEST_ID_HEADER = b"x-request-id"


class RequestContext:
    """Plain ASGI (no BaseHTTPMiddleware) to keep the per-request cost to a few microseconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((REQUEST_ID_HEADER, request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            count, latency = _series(scope["method"], route, status)
            count.inc()
            latency.observe(time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")


@functools.cache
def _series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """Label lookups cost microseconds per request; the set of routes and statuses is small."""
    labels = (method, route, str(status))
    return metrics.HTTP_REQUESTS.labels(*labels), metrics.HTTP_LATENCY.labels(*labels)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER:
            text = value.decode("latin-1")[:64]
            return text if text.isprintable() else None
    return None
