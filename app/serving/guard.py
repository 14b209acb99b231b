"""Deadlines and a circuit breaker around every store call on the request path."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

from app import metrics
from app.store.base import StoreError

T = TypeVar("T")


class StoreUnavailable(Exception):
    """The store is down, slow or the circuit is open: answer from what is held in process."""


class CircuitBreaker:
    """Opens after `failures` consecutive errors; lets one probe through after `reset_seconds`.

    An open circuit costs a clock read, so a dead store adds no latency to requests.
    """

    def __init__(self, failures: int, reset_seconds: float) -> None:
        self._threshold = failures
        self._reset = reset_seconds
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def is_open(self) -> bool:
        if self._opened_at is None:
            return False
        if time.monotonic() - self._opened_at >= self._reset:
            self._opened_at = time.monotonic()  # half-open: this caller probes, others wait
            return False
        return True

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None

    def failed(self) -> None:
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = time.monotonic()


class StoreGuard:
    def __init__(self, timeout_seconds: float, breaker: CircuitBreaker) -> None:
        self._timeout = timeout_seconds
        self.breaker = breaker

    async def call(self, operation: Awaitable[T], deadline: float | None = None) -> T:
        """Await `operation` in time; `deadline` (seconds) overrides it off the request path."""
        if self.breaker.is_open:
            if asyncio.iscoroutine(operation):
                operation.close()
            metrics.STORE_ERRORS.labels("circuit_open").inc()
            raise StoreUnavailable("circuit open")
        return await self.background(operation, deadline or self._timeout)

    async def background(self, operation: Awaitable[T], deadline: float) -> T:
        """A call off the request path (a periodic sync): never refused by an open circuit.

        Requests that timed out open the breaker so they fail fast; a sync that runs once a
        poll must still get through, or what the process holds goes stale behind it. Its
        success closes the circuit (it is a probe); its failure counts like any other.
        """
        try:
            async with asyncio.timeout(deadline):
                value = await operation
        except TimeoutError:
            self._fail("timeout")
            raise StoreUnavailable("store timed out") from None
        except (StoreError, OSError, ConnectionError) as error:
            self._fail("error")
            # The type only: the message may name a host or a path, and reaches answers.
            raise StoreUnavailable(f"store error ({type(error).__name__})") from error
        self.breaker.succeeded()
        return value

    def _fail(self, kind: str) -> None:
        metrics.STORE_ERRORS.labels(kind).inc()
        self.breaker.failed()
