"""Who may use the console: the admin key check, and the brake on guessing it."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import deque

from app.settings import Settings

FAILURES_ALLOWED = 5  # wrong keys per client address within the window
FAILURE_WINDOW_SECONDS = 60.0
TRACKED_ADDRESSES = 10_000  # past this the oldest address is forgotten: memory stays bounded


def admin_keys(settings: Settings) -> list[str]:
    """Every secret that carries the admin scope (the console's only question about keys)."""
    admin = settings.admin_api_key
    return [admin.get_secret_value()] if admin is not None else []


def is_admin_key(settings: Settings, given: str) -> bool:
    return any(hmac.compare_digest(given.encode(), key.encode()) for key in admin_keys(settings))


def key_fingerprint(key: str) -> str:
    """Held in the session instead of the key: removing the key ends its sessions."""
    return hashlib.sha256(b"cartlift console\0" + key.encode()).hexdigest()[:32]


def signing_secret(settings: Settings) -> bytes:
    """Shared by every worker without a setting of its own; a new admin key ends old sessions."""
    joined = "\0".join(sorted(admin_keys(settings)))
    return hashlib.sha256(b"cartlift console session\0" + joined.encode()).digest()


class LoginThrottle:
    """Wrong keys per client address in a sliding window; each process keeps its own count."""

    def __init__(
        self, allowed: int = FAILURES_ALLOWED, window: float = FAILURE_WINDOW_SECONDS
    ) -> None:
        self.allowed = allowed
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, address: str, now: float | None = None) -> int:
        """Seconds until this address may try again; 0 when it may now."""
        now = time.monotonic() if now is None else now
        failures = self._recent(address, now)
        if len(failures) < self.allowed:
            return 0
        return max(1, int(failures[0] + self.window - now + 0.999))

    def failed(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if address not in self._failures and len(self._failures) >= TRACKED_ADDRESSES:
            del self._failures[next(iter(self._failures))]
        self._recent(address, now).append(now)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures
