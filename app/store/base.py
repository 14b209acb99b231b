"""The RuleStore protocol every backend implements, and its typed errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson

SIGNING_SECRET_BYTES = 32


class StoreError(Exception):
    """The store could not be read or written."""


class UnknownVersion(StoreError):
    """A rollback or read named a version the store does not hold."""


@dataclass(frozen=True, slots=True)
class Decline:
    customer_id: str
    plan_id: str
    at: float  # epoch seconds, the store's clock


@dataclass(frozen=True, slots=True)
class Declines:
    now: float  # the store's clock when it answered
    declines: list[Decline]


def decline_member(customer_id: str, plan_id: str) -> bytes:
    """One decline's name in a store: unambiguous whatever the ids contain."""
    return orjson.dumps([customer_id, plan_id])


def decline_from(member: bytes | str, at: float) -> Decline:
    customer_id, plan_id = orjson.loads(member)
    return Decline(str(customer_id), str(plan_id), at)


class RuleStore(Protocol):
    """Versioned, immutable entries plus a single `current` pointer that flips atomically."""

    async def current_version(self) -> int | None: ...

    async def fetch(self, version: int, names: Sequence[str]) -> list[bytes | None]:
        """Entries of one version in one round trip; None where absent."""
        ...

    async def entry_names(self, version: int) -> list[str]:
        """Every entry name of a sealed version (for exports; not for the request path)."""
        ...

    async def allocate_version(self) -> int:
        """A new, never used version number, marked as being built."""
        ...

    async def write_entries(self, version: int, entries: Iterable[tuple[str, bytes]]) -> None: ...

    async def activate(self, version: int, keep: int) -> list[int]:
        """Seal the version, flip `current` to it, drop versions beyond `keep`; return dropped."""
        ...

    async def rollback(self, version: int) -> None:
        """Flip `current` to an older sealed version."""
        ...

    async def versions(self) -> list[int]:
        """Sealed versions, oldest first."""
        ...

    async def discard_unfinished(self) -> list[int]:
        """Remove versions that were started but never sealed (a crashed run)."""
        ...

    async def put_flag(self, name: str, value: bytes, ttl_seconds: int) -> None: ...

    async def get_flags(self, names: Sequence[str]) -> list[bytes | None]: ...

    async def record_decline(self, customer_id: str, plan_id: str, keep_seconds: float) -> float:
        """Note that a customer declined a plan, at the store's clock (returned, epoch seconds).

        Declines older than `keep_seconds` are forgotten on the way.
        """
        ...

    async def declines_since(self, since: float) -> Declines:
        """The store's clock now and every decline noted at or after `since` (-inf: all)."""
        ...

    async def signing_secret(self) -> bytes:
        """The service's signing secret (offer ids, console sessions): made by the first
        caller, then the same for every process.

        Removing it from the store (the key, or the file) rotates it: offer ids and console
        sessions made before are refused once the processes restart.
        """
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
