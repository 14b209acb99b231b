"""The key check and rate limit, as plain ASGI: decided from the headers, before any body."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as Request

from app import metrics
from app.api.errors import problem_response
from app.security.keys import ApiKey, KeyRing, Scope, parse_entry
from app.security.keys_file import KeysFileWatcher, read_keys_file
from app.security.rate_limit import RateLimiter, parse_rate_limit
from app.security.routes import is_open, required_scope
from app.settings import Settings

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cartlift"'}
NO_ADMIN = "no key has the admin scope: set CARTLIFT_ADMIN_API_KEY or CARTLIFT_API_KEYS"
NO_KEY = "send an API key in X-API-Key or Authorization: Bearer"
STATE_KEY = "api_key"  # request.state.api_key: the ApiKey that was let in (None when open)


@dataclass
class Security:
    """The keys, the keys file watcher and the rate limiter one process uses."""

    ring: KeyRing
    watcher: KeysFileWatcher | None
    limiter: RateLimiter | None

    @classmethod
    def from_settings(cls, settings: Settings) -> Security:
        fixed = [parse_entry(entry.get_secret_value()) for entry in settings.api_keys]
        if settings.admin_api_key is not None:
            fixed.append(parse_entry("admin:" + settings.admin_api_key.get_secret_value()))
        path = settings.api_keys_file
        ring = KeyRing(fixed, watched=path is not None)
        watcher = None
        if path is not None:
            ring.replace_file_keys(read_keys_file(path))
            watcher = KeysFileWatcher(path, ring)
            watcher.reload_if_changed()
        limiter = None
        if settings.rate_limit:
            limits = parse_rate_limit(settings.rate_limit)
            timeout = settings.store_timeout_ms / 1000
            limiter = RateLimiter(limits, settings.reveal_redis_url(), timeout)
        return cls(ring, watcher, limiter)


def _secret(request: Request) -> bytes | None:
    """X-API-Key, else the token of `Authorization: Bearer`."""
    bearer = None
    for name, value in request["headers"]:
        if name == b"x-api-key":
            return bytes(value)
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            bearer = bytes(value[7:].strip())
    return bearer


def _refusal(status: int, reason: str, detail: str) -> ASGIApp:
    metrics.AUTH_REJECTED.labels(reason).inc()
    if status == 401:
        return problem_response(401, "unauthorized", "Unauthorized", detail, CHALLENGE)
    slug, title = (
        ("admin-disabled", "Admin disabled")
        if reason == "admin_disabled"
        else ("forbidden", "Forbidden")
    )
    return problem_response(403, slug, title, detail)


class Gate:
    """Answers 401/403/429 itself; every other request goes on with its key in the state."""

    def __init__(self, app: ASGIApp, security: Security) -> None:
        self.app = app
        self.security = security

    async def __call__(self, request: Request, receive: Receive, send: Send) -> None:
        if request["type"] != "http" or is_open(request["path"]):
            await self.app(request, receive, send)
            return
        need = required_scope(request["path"])
        key, refusal = self._admit(request, need)
        if refusal is None and self.security.limiter is not None:
            refusal = await self._limit(request, key, need)
        if refusal is not None:
            await refusal(request, receive, send)
            return
        request.setdefault("state", {})[STATE_KEY] = key
        await self.app(request, receive, send)

    def _admit(self, request: Request, need: Scope | None) -> tuple[ApiKey | None, ASGIApp | None]:
        ring = self.security.ring
        if not ring.closed:  # no keys configured: open, but never for administration
            refusal = _refusal(403, "admin_disabled", NO_ADMIN) if need is Scope.ADMIN else None
            return None, refusal
        secret = _secret(request)
        if secret is None:
            return None, _refusal(401, "missing", NO_KEY)
        key = ring.lookup(secret)
        if key is None:
            return None, _refusal(401, "unknown", "unknown API key")
        if need is not None and need not in key.scopes:
            return key, _refusal(403, "scope", f"this key lacks the {need.value} scope")
        return key, None

    async def _limit(
        self, request: Request, key: ApiKey | None, need: Scope | None
    ) -> ASGIApp | None:
        assert self.security.limiter is not None
        if key is not None:
            identity = "key:" + key.key_id
        else:  # an open API limits each client address instead
            client = request.get("client")
            identity = "addr:" + (client[0] if client else "unknown")
        retry = await self.security.limiter.retry_after(identity, need)
        if retry is None:
            return None
        detail = f"rate limit reached; retry in {retry} s"
        headers = {"Retry-After": str(retry)}
        return problem_response(429, "rate-limited", "Too Many Requests", detail, headers)
