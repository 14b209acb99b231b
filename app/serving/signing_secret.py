"""The service's signing secret (offer ids, console sessions), read from the store once."""

from __future__ import annotations

from app.logs import get_logger
from app.serving.guard import StoreGuard, StoreUnavailable
from app.serving.reader import FIRST_LOOK_SECONDS
from app.store.base import RuleStore

log = get_logger(__name__)


class SigningSecret:
    """Read at start; when the store was away then, the first request that needs it reads it.

    Raises StoreUnavailable (a 503) only while it has never been read.
    """

    def __init__(self, store: RuleStore, guard: StoreGuard) -> None:
        self._store = store
        self._guard = guard
        self._secret: bytes | None = None

    async def load(self) -> None:
        """At start: a store that is away now only delays it to the first offer."""
        try:
            await self.get(deadline=FIRST_LOOK_SECONDS)
        except StoreUnavailable as error:
            log.warning("signing_secret_not_loaded", error=str(error))

    async def get(self, deadline: float | None = None) -> bytes:
        if self._secret is None:
            self._secret = await self._guard.call(self._store.signing_secret(), deadline)
        return self._secret
