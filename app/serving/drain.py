"""Draining: the process was told to stop, so /readyz turns traffic away before it goes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType


class Drain:
    """Set once, on the first SIGTERM; read by /readyz on every probe."""

    def __init__(self) -> None:
        self.draining = False

    def begin(self) -> None:
        self.draining = True


@contextlib.contextmanager
def drain_on_sigterm(
    drain: Drain, delay_seconds: float, on_begin: Callable[[], None]
) -> Iterator[None]:
    """Mark `drain` on SIGTERM, then hand the signal to the server after `delay_seconds`.

    Only where a handler is already in place, the server's graceful shutdown (uvicorn
    installs one while it serves): it then stops accepting, waits for in-flight requests
    and runs the lifespan's shutdown. Anywhere else (a test's lifespan, a script) SIGTERM
    keeps its default meaning. During the delay the server still accepts and /readyz says
    503, so a load balancer stops sending before the port closes.
    """
    server_handler = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or not callable(server_handler):
        yield
        return
    loop = asyncio.get_running_loop()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        first = not drain.draining
        drain.begin()
        if not first or delay_seconds <= 0:
            server_handler(signum, frame)
            return
        # A signal handler may not touch the loop's internals: hand over thread-safely.
        loop.call_soon_threadsafe(on_begin)
        loop.call_soon_threadsafe(loop.call_later, delay_seconds, server_handler, signum, None)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, server_handler)
