"""Who may use the console: any key with the admin scope, and the brake on guessing keys."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import deque

from app.security.keys import ApiKey, KeyRing, Scope

FAILURES_ALLOWED = 5  # wrong keys per client address within the window
FAILURE_WINDOW_SECONDS = 60.0
TRACKED_ADDRESSES = 10_000  # past this the oldest address is forgotten: memory stays bounded


def admin_keys(ring: KeyRing) -> tuple[ApiKey, ...]:
    """Every key with the admin scope now: from CARTLIFT_ADMIN_API_KEY, CARTLIFT_API_KEYS
    or the keys file (the console's only question about keys)."""
    return ring.with_scope(Scope.ADMIN)


def admin_key(ring: KeyRing, given: str) -> ApiKey | None:
    """The admin key with this secret; None for an unknown key and for one without admin."""
    key = ring.lookup(given)
    return key if key is not None and Scope.ADMIN in key.scopes else None


def key_fingerprint(key: ApiKey) -> str:
    """Held in the session instead of the key: removing the key ends its sessions."""
    return hashlib.sha256(b"cartlift console\0" + key.digest).hexdigest()[:32]


def session_secret(signing_secret: bytes) -> bytes:
    """Sessions are signed with the service's secret (shared by every worker, kept in the
    store), under a label of their own: a keys file of hashes cannot forge one."""
    return hmac.new(signing_secret, b"cartlift console session", hashlib.sha256).digest()


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
