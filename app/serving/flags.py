"""Flag reads of concurrent requests, sent to the store together.

Every triggered /upgrade-offers request reads its customer's cooldown flags: a store
round trip each, a fifth of the route's CPU under load. Requests that reach the read
in the same event-loop turn now share one MGET. Each caller still gets exactly its
own flags, or StoreUnavailable when the shared call failed, as if it had asked alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from app.serving.guard import StoreGuard
from app.store.base import RuleStore

Waiter = tuple[Sequence[str], asyncio.Future[list[bytes | None]]]


class FlagReader:
    def __init__(self, store: RuleStore, guard: StoreGuard) -> None:
        self._store = store
        self._guard = guard
        self._pending: list[Waiter] = []
        self._running: set[asyncio.Task[None]] = set()  # held so a task is not collected

    async def get(self, names: Sequence[str]) -> list[bytes | None]:
        """The flags under `names`, None where unset; raises StoreUnavailable."""
        if not names:
            return []
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[bytes | None]] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._send)  # after everything already runnable this turn
        self._pending.append((names, future))
        return await future

    def _send(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._fetch(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _fetch(self, batch: list[Waiter]) -> None:
        names = [name for wanted, _ in batch for name in wanted]
        try:
            flags = await self._guard.call(self._store.get_flags(names))
        except Exception as error:  # StoreUnavailable, or a bug every waiter should see
            for _, future in batch:
                if not future.done():  # a waiter whose request was cancelled is done already
                    future.set_exception(error)
            return
        except BaseException:  # cancelled at shutdown
            for _, future in batch:
                future.cancel()
            raise
        start = 0
        for wanted, future in batch:
            if not future.done():
                future.set_result(flags[start : start + len(wanted)])
            start += len(wanted)
