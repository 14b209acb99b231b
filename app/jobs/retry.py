"""Bounded retries for the job's database reads: ride out a Postgres restart, then give up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from app.failures import hide_locations
from app.logs import get_logger

T = TypeVar("T")
log = get_logger(__name__)


@dataclass(frozen=True)
class DatabaseRetry:
    """How often and how patiently the job retries an unreachable database.

    Waits double from `wait_seconds`: 5 attempts at 2 s cover a restart of about 30 s.
    """

    attempts: int = 5
    wait_seconds: float = 2.0


class DatabaseUnreachable(Exception):
    """Every attempt to reach the database failed."""


def is_transient(error: BaseException) -> bool:
    """Connection-level failures; a bad query or a missing table is not worth retrying."""
    if isinstance(error, OSError | TimeoutError | OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


async def with_retry(policy: DatabaseRetry, what: str, action: Callable[[], Awaitable[T]]) -> T:
    """Run `action`, retrying transient failures; raise DatabaseUnreachable when all fail."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential(multiplier=policy.wait_seconds, max=60),
        retry=retry_if_exception(is_transient),
        before_sleep=lambda state: _log_retry(what, state),
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                return await action()
    except Exception as error:
        if not is_transient(error):
            raise
        raise DatabaseUnreachable(
            f"{what}: database unreachable after {policy.attempts} attempts: "
            f"{type(error).__name__}: {hide_locations(str(error))}"
        ) from error
    raise AssertionError("unreachable: tenacity either returns or raises")


def _log_retry(what: str, state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "database_retry",
        step=what,
        attempt=state.attempt_number,
        wait_s=round(state.upcoming_sleep, 3),
        error=f"{type(error).__name__}: {error}",
    )
