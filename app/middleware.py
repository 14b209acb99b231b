"""ASGI middleware: a request id on every log line and response, and request metrics."""

from __future__ import annotations

import functools
import itertools
import os
import re
import secrets
import time

import structlog
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.api.errors import body_too_large, body_too_large_detail

REQUEST_ID_HEADER = b"x-request-id"
# A caller's id is echoed in a header and in every log line: 1-64 of these characters only.
VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


class RequestContext:
    """Plain ASGI (no BaseHTTPMiddleware) to keep the per-request cost to a few microseconds.

    It also enforces the body size limit: Starlette's `max_body_size` answers a declared
    oversize body in plain text, and every error of this API is problem+json. A declared
    length is refused before any route runs; a chunked body is counted as it arrives.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming, length = _read_headers(scope)
        request_id = incoming or _new_request_id()
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

        limit = self.max_body_bytes
        try:
            if limit is not None and length is not None and length > limit:
                await body_too_large(limit)(scope, receive, send_with_id)
            else:
                if limit is not None and length is None:  # chunked: count as it arrives
                    receive = _limited(receive, limit)
                await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
            count, latency = _series(method, route, status)
            count.inc()
            latency.observe(time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")


class _RequestIds:
    """32 hex digits like a uuid4, without reading the OS's random source per request.

    A random prefix per process and a counter: unique across workers and restarts,
    at a tenth of uuid4's cost. A forked child draws its own prefix.
    """

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


_new_request_id = _RequestIds()
# Any token is a valid HTTP method; unknown ones share a label so series stay bounded.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@functools.cache
def _series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """Label lookups cost microseconds per request; the set of routes and statuses is small."""
    labels = (method, route, str(status))
    return metrics.HTTP_REQUESTS.labels(*labels), metrics.HTTP_LATENCY.labels(*labels)


def _limited(receive: Receive, limit: int) -> Receive:
    total = 0

    async def receive_limited() -> Message:
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > limit:  # an HTTPException passes FastAPI's body parsing untouched
                raise HTTPException(413, body_too_large_detail(limit))
        return message

    return receive_limited


def _read_headers(scope: Scope) -> tuple[str | None, int | None]:
    """The caller's request id (when well formed) and the declared body length, in one pass."""
    request_id: str | None = None
    length: int | None = None
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER:  # anything else gets an id of our own
            request_id = value.decode("ascii") if VALID_REQUEST_ID.fullmatch(value) else None
        elif name == b"content-length" and value.isdigit():
            length = int(value)
    return request_id, length
