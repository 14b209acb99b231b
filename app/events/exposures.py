"""Exposures: what each answer showed to which arm, buffered in process and flushed in batches.

Recording costs a request one list append; a background task writes the buffer to the
event log every `flush_ms`. What a crash can lose is what sits in the buffer: at most one
flush interval of answers, never more than MAX_BUFFERED; `cartlift_exposures_buffered`
shows it and `cartlift_exposures_dropped_total` counts every exposure that was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Sequence

from app import metrics
from app.events.assign import Variant
from app.events.stream import EventLog, EventLogUnavailable, Record
from app.logs import get_logger

log = get_logger(__name__)
MAX_BUFFERED = 50_000  # a flush that keeps failing must not grow memory without bound
Exposure = tuple[str, str, str, str, tuple[str, ...], float]  # request, unit, variant, ...


class ExposureRecorder:
    def __init__(self, event_log: EventLog, flush_ms: int) -> None:
        self._log = event_log
        self._interval = flush_ms / 1000
        self._buffer: list[Exposure] = []
        self._task: asyncio.Task[None] | None = None

    def record(
        self, request_id: str, unit: str, variant: Variant, endpoint: str, skus: Sequence[str]
    ) -> None:
        """Called on the request path: no I/O, no awaiting."""
        if len(self._buffer) >= MAX_BUFFERED:
            metrics.EXPOSURES_DROPPED.labels("overflow").inc()
            return
        self._buffer.append((request_id, unit, variant, endpoint, tuple(skus), time.time()))

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_forever())

    async def stop(self) -> None:
        """Stop the flusher, then write what is left (a clean shutdown loses nothing)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def flush(self) -> None:
        batch, self._buffer = self._buffer, []
        if not batch:
            metrics.EXPOSURES_BUFFERED.set(0)
            return
        try:
            await self._log.append([_as_record(exposure) for exposure in batch])
        except asyncio.CancelledError:  # shutting down mid-write: stop() writes it again
            self._buffer[:0] = batch  # (a copy that did land is deduplicated by request id)
            raise
        except EventLogUnavailable as error:
            metrics.EXPOSURES_DROPPED.labels("log_unavailable").inc(len(batch))
            log.warning("exposures_dropped", count=len(batch), error=str(error))
            return
        for variant, count in Counter(exposure[2] for exposure in batch).items():
            metrics.EXPOSURES.labels(variant).inc(count)
        metrics.EXPOSURES_BUFFERED.set(len(self._buffer))

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            metrics.EXPOSURES_BUFFERED.set(len(self._buffer))
            try:
                await self.flush()
            except Exception:  # one bad flush must not end recording for the process's life
                log.exception("exposures_flush_failed")
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # see RuleReader.poll_forever
                raise asyncio.CancelledError


def _as_record(exposure: Exposure) -> Record:
    request_id, unit, variant, endpoint, skus, at = exposure
    return {
        "kind": "exposure",
        "request_id": request_id,
        "unit": unit,
        "variant": variant,
        "endpoint": endpoint,
        "skus": list(skus),
        "at": at,
    }
