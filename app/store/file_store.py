"""File-snapshot rule store for the embedded default: one file per sealed version."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import orjson

from app.store.base import SIGNING_SECRET_BYTES, Declines, StoreError, UnknownVersion
from app.store.decline_journal import DeclineJournal
from app.store.files import replace_file

SEPARATOR = b"\t"
SIGNING_SECRET_FILE = "signing_secret"


class FileRuleStore:
    """`v{N}.rules` holds `name<TAB>value` lines; `current` names the live version.

    The pointer file is replaced with os.replace, atomic on POSIX, so readers see
    version N or N+1 and never a mix. Sealed versions are immutable and cached.
    """

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._cache: dict[int, dict[str, bytes]] = {}
        self._declines = DeclineJournal(directory)

    async def current_version(self) -> int | None:
        try:
            text = (self._dir / "current").read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text else None

    async def fetch(self, version: int, names: Sequence[str]) -> list[bytes | None]:
        entries = self._cache.get(version)
        if entries is None:
            try:
                entries = await asyncio.to_thread(self._load, version)
            except UnknownVersion:
                return [None] * len(names)  # like Redis: a dropped version reads as absent
            # Two versions: requests still on the old one must not evict the new one.
            newest = max(self._cache, default=None)
            self._cache = {version: entries} | (
                {newest: self._cache[newest]} if newest is not None and newest != version else {}
            )
        return [entries.get(name) for name in names]

    async def entry_names(self, version: int) -> list[str]:
        return sorted(self._load(version))

    async def allocate_version(self) -> int:
        self._dir.mkdir(parents=True, exist_ok=True)
        counter = self._dir / "next_version"
        version = int(counter.read_text()) + 1 if counter.exists() else 1
        replace_file(counter, str(version).encode())
        (self._dir / f"v{version}.partial").write_bytes(b"")
        return version

    async def write_entries(self, version: int, entries: Iterable[tuple[str, bytes]]) -> None:
        with open(self._dir / f"v{version}.partial", "ab") as handle:
            for name, value in entries:
                if b"\n" in value:
                    raise StoreError("entry values must be single-line JSON")
                handle.write(name.encode() + SEPARATOR + value + b"\n")

    async def activate(self, version: int, keep: int) -> list[int]:
        partial = self._dir / f"v{version}.partial"
        try:
            os.replace(partial, self._dir / f"v{version}.rules")
        except FileNotFoundError:
            raise StoreError(
                f"version {version} was discarded while it was being written"
            ) from None
        replace_file(self._dir / "current", str(version).encode())
        sealed = await self.versions()
        dropped = [old for old in sealed[:-keep] if old != version] if keep else []
        for old in dropped:
            (self._dir / f"v{old}.rules").unlink(missing_ok=True)
        return dropped

    async def rollback(self, version: int) -> None:
        if version not in await self.versions():
            raise UnknownVersion(f"version {version} is not held by the store")
        replace_file(self._dir / "current", str(version).encode())

    async def versions(self) -> list[int]:
        return sorted(int(path.stem[1:]) for path in self._dir.glob("v*.rules"))

    async def discard_unfinished(self) -> list[int]:
        unfinished = sorted(int(path.stem[1:]) for path in self._dir.glob("v*.partial"))
        for version in unfinished:
            (self._dir / f"v{version}.partial").unlink(missing_ok=True)
        return unfinished

    async def put_flag(self, name: str, value: bytes, ttl_seconds: int) -> None:
        now = time.time()
        flags = {
            key: entry
            for key, entry in self._read_flags().items()
            if entry[1] is None or float(str(entry[1])) > now  # expired flags go away here
        }
        expires = now + ttl_seconds if ttl_seconds > 0 else None
        flags[name] = [value.decode(), expires]
        self._dir.mkdir(parents=True, exist_ok=True)
        replace_file(self._dir / "flags.json", orjson.dumps(flags))

    async def get_flags(self, names: Sequence[str]) -> list[bytes | None]:
        flags = self._read_flags()
        now = time.time()
        found: list[bytes | None] = []
        for name in names:
            value, expires = flags.get(name, (None, None))
            alive = isinstance(value, str) and (expires is None or float(str(expires)) > now)
            found.append(str(value).encode() if alive else None)
        return found

    async def record_decline(self, customer_id: str, plan_id: str, keep_seconds: float) -> float:
        return await self._declines.append(customer_id, plan_id, keep_seconds)

    async def declines_since(self, since: float) -> Declines:
        return await self._declines.since(since)

    async def signing_secret(self) -> bytes:
        return await asyncio.to_thread(self._signing_secret)

    def _signing_secret(self) -> bytes:
        path = self._dir / SIGNING_SECRET_FILE
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        self._dir.mkdir(parents=True, exist_ok=True)
        fresh = self._dir / f"{SIGNING_SECRET_FILE}.{os.getpid()}.{time.monotonic_ns()}.tmp"
        descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(SIGNING_SECRET_BYTES))
        try:  # link, unlike replace, fails when another worker got there first
            os.link(fresh, path)
        except FileExistsError:
            pass
        finally:
            fresh.unlink()
        return path.read_bytes()

    async def ping(self) -> None:
        # A missing directory only means nothing was published yet; a file in its place
        # is a broken deployment.
        if self._dir.exists() and not self._dir.is_dir():
            raise StoreError("CARTLIFT_SNAPSHOT_DIR is not a directory")

    async def close(self) -> None:
        self._cache.clear()

    def _load(self, version: int) -> dict[str, bytes]:
        try:
            data = (self._dir / f"v{version}.rules").read_bytes()
        except FileNotFoundError:
            raise UnknownVersion(f"version {version} is not held by the store") from None
        entries: dict[str, bytes] = {}
        for line in data.splitlines():
            name, _, value = line.partition(SEPARATOR)
            entries[name.decode()] = value
        return entries

    def _read_flags(self) -> dict[str, list[object]]:
        try:
            loaded: dict[str, list[object]] = orjson.loads((self._dir / "flags.json").read_bytes())
        except FileNotFoundError:
            return {}
        return loaded
