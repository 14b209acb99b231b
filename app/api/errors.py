"""Errors as application/problem+json (RFC 9457), mapped once for the whole app."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.logs import get_logger

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://cartlift.dev/problems/"
log = get_logger(__name__)
SLUGS = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}
TITLES = {404: "Not Found", 405: "Method Not Allowed", 413: "Content Too Large"}


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


class ProblemError(Exception):
    """Raised anywhere on the request path to answer with a problem document."""

    def __init__(
        self, status: int, slug: str, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers = headers or {}


def retry_after(seconds: int) -> dict[str, str]:
    return {"Retry-After": str(seconds)}


def unavailable(
    retry_after_seconds: int,
    detail: str,
    slug: str = "store-unavailable",
    title: str = "Rule store unavailable",
) -> ProblemError:
    """The 503 every route answers when it cannot answer yet, saying when to try again."""
    return ProblemError(503, slug, title, detail, retry_after(retry_after_seconds))


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body = Problem(
        type=PROBLEM_BASE + slug, title=title, status=status, detail=detail, errors=errors
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


def body_too_large_detail(limit: int) -> str:
    return f"body: the request body exceeds {limit} bytes"


def body_too_large(limit: int) -> JSONResponse:
    return problem_response(413, "body-too-large", TITLES[413], body_too_large_detail(limit))


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problem documents a route may return."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "model": Problem,  # registers the schema (FastAPI files it under application/json)
            "content": {PROBLEM_JSON: {"schema": schema}},
            "description": "Problem",
        }
        for status in statuses
    }


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def _issue(error: dict[str, Any]) -> dict[str, Any]:
    if error.get("type") == "json_invalid":  # its location is a character offset, not a field
        reason = error.get("ctx", {}).get("error", "invalid JSON")
        return {
            "field": "body",
            "message": f"malformed JSON at character {error['loc'][-1]}: {reason}",
        }
    return {"field": _field(tuple(error["loc"])), "message": error["msg"]}


async def _validation(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    issues = [_issue(e) for e in error.errors()]
    detail = "; ".join(f"{issue['field']}: {issue['message']}" for issue in issues[:5])
    return problem_response(422, "invalid-request", "Invalid request", detail, errors=issues)


async def _http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400 and isinstance(error.__cause__, UnicodeDecodeError):
        # FastAPI's answer to a JSON body that is not UTF-8: malformed JSON like any other.
        detail = f"body: malformed JSON, not UTF-8: {error.__cause__.reason}"
        issues = [{"field": "body", "message": detail.removeprefix("body: ")}]
        return problem_response(422, "invalid-request", "Invalid request", detail, errors=issues)
    status = error.status_code
    slug = SLUGS.get(status, "http-error")
    title = TITLES.get(status, str(error.detail))
    headers = dict(error.headers or {})
    if status == 405:
        headers["Allow"] = _allowed(request) or headers.get("Allow", "")
    return problem_response(status, slug, title, str(error.detail), headers)


def _allowed(request: Request) -> str:
    """Every method the path supports: the router only names those of its first route."""
    path = request.url.path
    for template, operations in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)), path):
            return ", ".join(sorted(method.upper() for method in operations))
    return ""


async def _problem(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ProblemError)
    return problem_response(error.status, error.slug, error.title, error.detail, error.headers)


async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled_error", error=type(error).__name__)
    return problem_response(500, "internal", "Internal error", "an unexpected error occurred")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ProblemError, _problem)
    app.add_exception_handler(Exception, _unexpected)
