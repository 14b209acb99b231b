"""The security schemes and each operation's required scope, added to the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.api.errors import PROBLEM_JSON
from app.security.routes import is_open, required_scope

SCHEMES = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "Bearer": {"type": "http", "scheme": "bearer"},
}
REFUSALS = {
    "401": "Missing or unknown API key",
    "403": "The key lacks the scope this operation needs",
    "429": "The key's rate limit is reached; see Retry-After",
}


def _refusal(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_JSON: {"schema": schema}}}


def _secure(path: str, operation: dict[str, Any]) -> None:
    scope = required_scope(path)
    # OpenAPI 3.1 lets non-OAuth schemes list roles: here, the scope the key needs.
    roles = [scope.value] if scope else []
    operation["security"] = [{name: roles} for name in SCHEMES]
    responses = operation.setdefault("responses", {})
    for status, description in REFUSALS.items():
        responses.setdefault(status, _refusal(description))


def document_security(app: FastAPI) -> None:
    """Wrap app.openapi so the document says which key each operation needs."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        document.setdefault("components", {})["securitySchemes"] = SCHEMES
        for path, operations in document.get("paths", {}).items():
            if not is_open(path):
                for operation in operations.values():
                    _secure(path, operation)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
