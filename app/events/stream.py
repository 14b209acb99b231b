"""The event log: a Redis stream, or a local journal file when no Redis is configured.

Writers append whole batches (one POST /events, one flush of exposures) as one entry, so
a batch is kept whole or not at all. `append` returns once the entry is durable in the log;
the drainer reads entries, commits them to the database, then acknowledges (deletes) them.
An entry read but not acknowledged (a drainer killed mid-batch) is read again next time;
the database's unique keys make that second insert a no-op.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
from redis.asyncio import BlockingConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.failures import hide_locations

STREAM_KEY = "cartlift:events"  # the one owner of the event stream's key name
Record = dict[str, Any]


class EventLogUnavailable(Exception):
    """The log could not take the batch; nothing of it was written."""


@dataclass(frozen=True)
class Entry:
    entry_id: str
    records: list[Record]


class EventLog(Protocol):
    async def append(self, records: Sequence[Record]) -> None: ...
    async def read(self, max_entries: int) -> list[Entry]: ...
    async def ack(self, entries: Sequence[Entry]) -> None: ...
    async def backlog(self) -> int: ...
    async def close(self) -> None: ...


def encode(records: Sequence[Record]) -> bytes:
    return orjson.dumps(list(records))


Waiting = tuple[bytes, "asyncio.Future[None]"]  # an encoded batch and its caller's answer


class RedisEventLog:
    """XADD per batch; the drainer reads with XRANGE and deletes with XDEL after commit.

    Appends made while another is on its way to Redis go together in the next pipeline
    (one round trip for all of them), and each caller returns once Redis has its own
    entry: under load that saves a system call and a wake-up of Redis per request.
    """

    def __init__(self, client: Redis, key: str = STREAM_KEY) -> None:
        self._redis = client
        self._key = key
        self._waiting: list[Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def append(self, records: Sequence[Record]) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((encode(records), done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        await done

    async def _write_waiting(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                await self._write(group)
        finally:  # left waiting only when cancelled: no caller may hang
            group, self._waiting = self._waiting, []
            _settle(group, [EventLogUnavailable("the event log writer stopped")] * len(group))

    async def _write(self, group: list[Waiting]) -> None:
        answers: list[object]
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for body, _ in group:
                    pipe.xadd(self._key, {b"b": body})
                answers = await pipe.execute(raise_on_error=False)
        except Exception as error:  # Redis away, or anything else: no caller may hang on it
            answers = [error] * len(group)
        except BaseException as error:  # cancelled mid-write: the callers must not hang
            _settle(group, [EventLogUnavailable(type(error).__name__)] * len(group))
            raise
        _settle(group, answers)

    async def read(self, max_entries: int) -> list[Entry]:
        found = await self._redis.xrange(self._key, "-", "+", count=max_entries) or []
        return [_stream_entry(entry_id, fields) for entry_id, fields in found]

    async def ack(self, entries: Sequence[Entry]) -> None:
        if entries:
            await self._redis.xdel(self._key, *[entry.entry_id for entry in entries])

    async def backlog(self) -> int:
        return int(await self._redis.xlen(self._key))

    async def close(self) -> None:
        await self._redis.aclose()


def _settle(group: Sequence[Waiting], answers: Sequence[object]) -> None:
    """Answer each caller: done, or EventLogUnavailable (a caller that gave up is skipped)."""
    for (_, done), answer in zip(group, answers, strict=True):
        if done.done():
            continue
        if isinstance(answer, EventLogUnavailable):
            done.set_exception(answer)
        elif isinstance(answer, BaseException):
            done.set_exception(EventLogUnavailable(_reason(answer)))
        else:
            done.set_result(None)


def _reason(error: BaseException) -> str:
    """Why the log refused, without its host or path: the text reaches /events answers."""
    return hide_locations(str(error)) or type(error).__name__


def _stream_entry(entry_id: object, fields: object) -> Entry:
    assert isinstance(entry_id, bytes) and isinstance(fields, dict)  # a bytes client
    return Entry(entry_id.decode(), orjson.loads(fields[b"b"]))


class FileEventLog:
    """Append-only journal, one JSON line per batch, fsynced before `append` returns.

    The drainer renames the journal aside (writers then start a new one) and keeps the
    byte offset it has committed next to it, so a killed drainer resumes where it stopped.
    A torn last line (a writer killed mid-write) was never acknowledged: it is skipped.
    """

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._journal = directory / "journal.jsonl"
        self._lock = directory / "journal.lock"

    async def append(self, records: Sequence[Record]) -> None:
        line = encode(records) + b"\n"
        try:
            await asyncio.to_thread(self._append, line)
        except OSError as error:
            raise EventLogUnavailable(_reason(error)) from error

    def _append(self, line: bytes) -> None:
        with self._locked():
            fd = os.open(self._journal, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # end a line torn by a writer killed mid-write
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    async def read(self, max_entries: int) -> list[Entry]:
        return await asyncio.to_thread(self._read, max_entries)

    def _read(self, max_entries: int) -> list[Entry]:
        draining = self._draining() or self._rotate()
        if draining is None:
            return []
        offset = _read_offset(draining)
        entries: list[Entry] = []
        with draining.open("rb") as journal:
            journal.seek(offset)
            while len(entries) < max_entries and (line := journal.readline()):
                offset += len(line)
                entry = _parse(line, f"{draining.name}:{offset}")
                if entry is not None:
                    entries.append(entry)
        if not entries:  # fully drained (or only a torn line): the file is done
            _finish(draining)
            return self._read(max_entries) if self._draining() or self._has_journal() else []
        return entries

    async def ack(self, entries: Sequence[Entry]) -> None:
        if entries:
            await asyncio.to_thread(self._ack, entries[-1].entry_id)

    def _ack(self, entry_id: str) -> None:
        name, offset = entry_id.rsplit(":", 1)
        path = self._dir / name
        tmp = _offset_path(path).with_suffix(".tmp")
        tmp.write_text(offset)
        os.replace(tmp, _offset_path(path))

    async def backlog(self) -> int:
        return await asyncio.to_thread(self._backlog)

    def _backlog(self) -> int:
        files = [*sorted(self._dir.glob("draining-*.jsonl")), self._journal]
        total = 0
        for path in files:
            if path.exists():
                with path.open("rb") as journal:
                    journal.seek(_read_offset(path) if path != self._journal else 0)
                    total += sum(1 for line in journal if line.endswith(b"\n"))
        return total

    async def close(self) -> None:
        return None

    def _draining(self) -> Path | None:
        found = sorted(self._dir.glob("draining-*.jsonl"))
        return found[0] if found else None

    def _has_journal(self) -> bool:
        return self._journal.exists() and self._journal.stat().st_size > 0

    def _rotate(self) -> Path | None:
        with self._locked():
            if not self._has_journal():
                return None
            target = self._dir / f"draining-{time.time_ns():020d}.jsonl"
            os.replace(self._journal, target)
            return target

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _offset_path(path: Path) -> Path:
    return path.with_suffix(".offset")


def _read_offset(path: Path) -> int:
    marker = _offset_path(path)
    return int(marker.read_text()) if marker.exists() else 0


def _finish(path: Path) -> None:
    path.unlink(missing_ok=True)
    _offset_path(path).unlink(missing_ok=True)


def _parse(line: bytes, entry_id: str) -> Entry | None:
    """None for a torn line: its writer died before answering, so nobody was told it was kept."""
    if not line.endswith(b"\n"):
        return None
    try:
        return Entry(entry_id, orjson.loads(line))
    except orjson.JSONDecodeError:
        return None


def open_event_log(redis_url: str | None, journal_dir: Path, pool_size: int = 32) -> EventLog:
    """The Redis stream when Redis is configured, else the journal file."""
    if redis_url:
        # Seconds, not the rule store's milliseconds: a batch of 1,000 events is worth a
        # short wait, and a write that timed out may still have landed (ids dedupe it).
        pool = BlockingConnectionPool.from_url(
            redis_url,
            max_connections=pool_size,
            timeout=2.0,
            socket_timeout=2.0,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 0),
        )
        return RedisEventLog(Redis(connection_pool=pool))
    return FileEventLog(journal_dir)
