"""Which scope each path needs: the one table the gate and the OpenAPI document read."""

from __future__ import annotations

from app.security.keys import Scope

# Open to anyone: probes, and the API's own description (the schema is public anyway).
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json", "/docs", "/redoc"})
# Longest prefix first; a path matches `/x` itself or anything under `/x/`.
SCOPED_PREFIXES: tuple[tuple[str, Scope], ...] = (
    ("/metrics", Scope.METRICS),
    ("/admin", Scope.ADMIN),
    ("/next-sale", Scope.CUSTOMER),
    ("/events", Scope.EVENTS),
    ("/recommend", Scope.RECOMMEND),
    ("/upgrade-offers", Scope.RECOMMEND),
)


def is_open(path: str) -> bool:
    # The console's pages check their own signed session (an admin key typed once at
    # /console/login): a browser never sends X-API-Key.
    console = path == "/console" or path.startswith("/console/")
    return path in OPEN_PATHS or path.startswith("/docs/") or console


def required_scope(path: str) -> Scope | None:
    """The scope a closed path needs; None: any known key will do (paths of no route)."""
    for prefix, scope in SCOPED_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return scope
    return None
