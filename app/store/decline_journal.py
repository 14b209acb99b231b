"""The file store's declines: a journal appended off the event loop, compacted as it grows.

Every decline is one line `[customer, plan, at, forget_before]` appended with O_APPEND, so
workers sharing the directory write side by side and a decline costs one small write,
whatever the journal holds. As in Redis, the newest line's `forget_before` (its time less
the cooldown) ends every older decline: readers skip those. Once the journal has doubled
since it was last looked at, a writer drops them for good (rewriting it only when that frees
half or more), so the file stays within about twice the declines of one cooldown. Appends
share a lock that compaction takes alone.

The first line names the journal's generation; a compaction starts a new one. Readers
remember where they stopped in a generation and read only what was appended since.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import orjson

from app.store.base import Decline, Declines
from app.store.files import replace_file

JOURNAL = "declines.journal"
EARLIER_FORMAT = "declines.json"  # {member: at}, rewritten whole per decline: read once
LOCK = "declines.lock"
COMPACT_MIN_BYTES = 256 * 1024
CHECKPOINTS = 32  # places this reader stopped at; polls read on from the newest that fits


class Entry(NamedTuple):
    customer_id: str
    plan_id: str
    at: float
    forget_before: float  # declines noted before this are past their cooldown


class Checkpoint(NamedTuple):
    """Where a read stopped: every line before `offset` was noted at or before `newest`."""

    generation: bytes
    offset: int
    newest: float
    horizon: float  # the largest forget_before before offset


class DeclineJournal:
    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._path = directory / JOURNAL
        self._compact_at = COMPACT_MIN_BYTES
        self._checkpoints: deque[Checkpoint] = deque(maxlen=CHECKPOINTS)

    async def append(self, customer_id: str, plan_id: str, keep_seconds: float) -> float:
        """Note a decline now (returned, epoch seconds); in a thread, never on the event loop."""
        return await asyncio.to_thread(self._append, customer_id, plan_id, keep_seconds)

    async def since(self, since: float) -> Declines:
        return await asyncio.to_thread(self._read_since, since)

    def _append(self, customer_id: str, plan_id: str, keep_seconds: float) -> float:
        self._dir.mkdir(parents=True, exist_ok=True)
        self._start_journal()
        with self._locked(fcntl.LOCK_SH):
            at = time.time()
            descriptor = os.open(self._path, os.O_WRONLY | os.O_APPEND)
            try:
                line = orjson.dumps([customer_id, plan_id, at, at - keep_seconds])
                os.write(descriptor, line + b"\n")
                size = os.fstat(descriptor).st_size
            finally:
                os.close(descriptor)
        if size >= self._compact_at:
            self._compact()
        return at

    def _compact(self) -> None:
        with self._locked(fcntl.LOCK_EX):
            data = self._path.read_bytes()
            lines = data.split(b"\n")[1:-1]
            entries = [entry for entry in map(_parse, lines) if entry is not None]
            horizon = max((entry.forget_before for entry in entries), default=float("-inf"))
            kept = _latest(entries, horizon)
            size = len(data)
            if len(kept) * 2 <= len(lines):
                content = _header() + b"".join(_line(entry) for entry in kept)
                replace_file(self._path, content)
                size = len(content)
        self._compact_at = max(COMPACT_MIN_BYTES, 2 * size)

    def _start_journal(self) -> None:
        """Create the journal once, carrying over the declines of the earlier declines.json."""
        if self._path.exists():
            return
        with self._locked(fcntl.LOCK_EX):
            if self._path.exists():
                return
            earlier = self._dir / EARLIER_FORMAT
            carried = b"".join(_line(entry) for entry in _read_earlier(earlier))
            replace_file(self._path, _header() + carried)
            earlier.unlink(missing_ok=True)

    def _read_since(self, since: float) -> Declines:
        now = time.time()
        if (self._dir / EARLIER_FORMAT).exists():
            self._start_journal()
        try:
            handle = open(self._path, "rb")  # noqa: SIM115 - closed below, across two reads
        except FileNotFoundError:
            return Declines(now, [])
        with handle:
            generation = handle.readline()
            start = self._resume(generation, since, handle.tell())
            handle.seek(start.offset)
            data = handle.read()
        complete = data.rfind(b"\n") + 1  # a line being written now is read next time
        entries = [entry for entry in map(_parse, data[:complete].split(b"\n")) if entry]
        newest = max([start.newest, *(entry.at for entry in entries)])
        horizon = max([start.horizon, *(entry.forget_before for entry in entries)])
        self._checkpoints.append(Checkpoint(generation, start.offset + complete, newest, horizon))
        found = _latest(entries, max(since, horizon))
        return Declines(now, [Decline(e.customer_id, e.plan_id, e.at) for e in found])

    def _resume(self, generation: bytes, since: float, first_line: int) -> Checkpoint:
        """The last place read in this generation before which every decline is older."""
        for checkpoint in reversed(self._checkpoints):
            if checkpoint.generation == generation and checkpoint.newest < since:
                return checkpoint
        return Checkpoint(generation, first_line, float("-inf"), float("-inf"))

    @contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        with open(self._dir / LOCK, "a") as lock:
            fcntl.flock(lock, mode)
            yield  # closing the file releases the lock


def _read_earlier(path: Path) -> list[Entry]:
    try:
        held = orjson.loads(path.read_bytes())
        pairs = [(orjson.loads(member), float(at)) for member, at in held.items()]
        return sorted(Entry(str(c), str(p), at, 0.0) for (c, p), at in pairs)
    except FileNotFoundError:
        return []
    except (orjson.JSONDecodeError, ValueError, TypeError, AttributeError):
        return []  # unreadable: its declines are lost, as they would have been before


def _header() -> bytes:
    return orjson.dumps({"declines_journal": uuid.uuid4().hex}) + b"\n"


def _parse(line: bytes) -> Entry | None:
    """One journal line; None for a blank or torn one (a crash mid-write loses one decline)."""
    if not line:
        return None
    try:
        customer_id, plan_id, at, forget_before = orjson.loads(line)
        return Entry(str(customer_id), str(plan_id), float(at), float(forget_before))
    except (orjson.JSONDecodeError, ValueError, TypeError):
        return None


def _line(entry: Entry) -> bytes:
    fields = [entry.customer_id, entry.plan_id, entry.at, entry.forget_before]
    return orjson.dumps(fields) + b"\n"


def _latest(entries: list[Entry], since: float) -> list[Entry]:
    """Each customer's latest decline of each plan at or after `since`, oldest first."""
    latest: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        key = (entry.customer_id, entry.plan_id)
        if entry.at >= since and (key not in latest or entry.at >= latest[key].at):
            latest[key] = entry
    return sorted(latest.values(), key=lambda entry: entry.at)
